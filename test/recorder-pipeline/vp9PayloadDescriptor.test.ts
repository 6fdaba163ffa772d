import { describe, expect, it } from 'vitest';
import { isVp9KeyFrameStart, parseVp9Descriptor, toNonFlexibleVp9InPlace, toNonFlexibleVp9Payload } from '../../recorder-pipeline/rtp/vp9PayloadDescriptor.ts';

// VP9 frame header first bytes: frame_marker=10, profile 0, show_existing_frame=0, then frame_type.
const KEY_FRAME_HEADER = 0b1000_0010; // frame_type 0, show_frame 1
const INTER_FRAME_HEADER = 0b1000_0110; // frame_type 1, show_frame 1

describe('the VP9 payload descriptor rewrite', () => {
  it('turns a flexible-mode inter frame into a non-flexible descriptor without layer index or P_DIFFs', () => {
    // I P L F B E V Z = 1 1 1 1 1 0 0 0; 15-bit picture ID 0x1234 (M=1); layer index; two P_DIFFs (N=1, then N=0).
    const payload = Uint8Array.from([0xf8, 0x80 | 0x12, 0x34, 0x00, 0x03, 0x04, INTER_FRAME_HEADER, 0xaa, 0xbb]);
    const rewritten = toNonFlexibleVp9Payload(payload)!;
    // F and L cleared, I P B kept; picture ID kept; layer index and both P_DIFF bytes gone.
    expect([...rewritten]).toEqual([0xc8, 0x92, 0x34, INTER_FRAME_HEADER, 0xaa, 0xbb]);
    expect(parseVp9Descriptor(rewritten)).toMatchObject({ length: 3, flexible: false, hasLayerIndex: false, startOfFrame: true, interPicture: true });
  });

  it('keeps a flexible key frame (no P_DIFFs) and a 7-bit picture ID', () => {
    // I=1 P=0 L=1 F=1 B=1 E=1; 7-bit picture ID 0x05; layer index 0.
    const payload = Uint8Array.from([0xbc, 0x05, 0x00, KEY_FRAME_HEADER, 0x49]);
    const rewritten = toNonFlexibleVp9Payload(payload)!;
    expect([...rewritten]).toEqual([0x8c, 0x05, KEY_FRAME_HEADER, 0x49]);
    expect(isVp9KeyFrameStart(rewritten)).toBe(true);
  });

  it('drops the layer index and TL0PICIDX of a non-flexible descriptor with L set', () => {
    // I=1 L=1 B=1; 7-bit picture ID; layer index; TL0PICIDX.
    const payload = Uint8Array.from([0xa8, 0x07, 0x00, 0x2a, INTER_FRAME_HEADER]);
    expect([...toNonFlexibleVp9Payload(payload)!]).toEqual([0x88, 0x07, INTER_FRAME_HEADER]);
  });

  it('leaves an already simple descriptor untouched (same bytes, no copy)', () => {
    const payload = Uint8Array.from([0x08, KEY_FRAME_HEADER, 0x01]);
    expect(toNonFlexibleVp9Payload(payload)).toBe(payload);
  });

  it('keeps the scalability structure after the dropped fields', () => {
    // I=0 P=0 L=1 F=1 B=1 V=1; layer index; SS: N_S=0, Y=1, G=0; width 1280, height 720.
    const payload = Uint8Array.from([0x3a, 0x00, 0x10, 0x05, 0x00, 0x02, 0xd0, KEY_FRAME_HEADER]);
    expect([...toNonFlexibleVp9Payload(payload)!]).toEqual([0x0a, 0x10, 0x05, 0x00, 0x02, 0xd0, KEY_FRAME_HEADER]);
  });

  it('rejects a descriptor that runs past the payload', () => {
    // F=1 P=1 with a P_DIFF whose N bit promises another byte that is not there.
    expect(toNonFlexibleVp9Payload(Uint8Array.from([0x50, 0x03]))).toBeUndefined();
    expect(toNonFlexibleVp9Payload(Uint8Array.from([]))).toBeUndefined();
  });

  it('rewrites inside a datagram by moving the header forward, not the payload', () => {
    const header = [0x80, 0x65, 0x00, 0x01, 0x00, 0x00, 0x0b, 0xb8, 0x00, 0x00, 0x03, 0xe8];
    // Flexible inter frame: 15-bit picture ID, layer index, two P_DIFFs; then two bytes of padding.
    const datagram = Uint8Array.from([...header, 0xf8, 0x92, 0x34, 0x00, 0x03, 0x04, INTER_FRAME_HEADER, 0xaa, 0x00, 0x02]);
    const shift = toNonFlexibleVp9InPlace(datagram, 12, datagram.length - 2);
    expect(shift).toBe(3);
    expect([...datagram.subarray(shift, datagram.length - 2)]).toEqual([...header, 0xc8, 0x92, 0x34, INTER_FRAME_HEADER, 0xaa]);
  });

  it('leaves the datagram alone when there is nothing to drop or the descriptor is malformed', () => {
    const simple = Uint8Array.from([0x80, 0x65, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x88, 0x05, KEY_FRAME_HEADER]);
    expect(toNonFlexibleVp9InPlace(simple, 12, simple.length)).toBe(0);
    expect([...simple.subarray(12)]).toEqual([0x88, 0x05, KEY_FRAME_HEADER]);
    // F=1 P=1 whose P_DIFF promises another byte before the payload's end (the padding after it does not count).
    const malformed = Uint8Array.from([0x80, 0x65, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0x50, 0x03, 0x00, 0x01]);
    const before = [...malformed];
    expect(toNonFlexibleVp9InPlace(malformed, 12, 14)).toBe(-1);
    expect([...malformed]).toEqual(before);
  });

  it('tells key frames from inter frames by the frame header, not by the P bit alone', () => {
    // ffmpeg's packetizer writes P=0 on every frame: only the frame header tells.
    expect(isVp9KeyFrameStart(Uint8Array.from([0x08, KEY_FRAME_HEADER]))).toBe(true);
    expect(isVp9KeyFrameStart(Uint8Array.from([0x08, INTER_FRAME_HEADER]))).toBe(false);
    // Not the first packet of the frame (B=0).
    expect(isVp9KeyFrameStart(Uint8Array.from([0x04, KEY_FRAME_HEADER]))).toBe(false);
    // Show-existing-frame is never a key frame.
    expect(isVp9KeyFrameStart(Uint8Array.from([0x08, 0b1000_1000]))).toBe(false);
  });
});
