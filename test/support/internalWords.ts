/**
 * Words a candidate or proctor must never read outside the small print: the service's codes
 * (snake_case), statuses as stored, and the machinery's names (singular or plural). Shared by the
 * catalogue check and the rendered pages' scan.
 */
export const INTERNAL_WORDS =
  /\b[a-z]+_[a-z_]+\b|\b(?:finalizing|role token|bad signature|undefined|null|NaN|mediasoup|socket\.io|websockets?|producers?|consumers?|transports?|DTLS|ICE|SDP|RTP)\b|\b(?:Error:|TypeError|DOMException|NotAllowedError|NotFoundError)/;
