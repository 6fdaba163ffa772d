// A page's own changes to a track, made visible the moment they happen. The browser fires 'ended'
// only when the source ends (the candidate pressed "Stop sharing"), never when a page calls
// stop(), and nothing at all when a page sets `enabled`: without this, both would be seen only at
// the next poll. A hooked track fires 'ended' after its stop() and 'enabledchange' after
// `enabled` changes. Best effort: where the browser refuses the hook, the polls still see it.

const hooked = new WeakSet<MediaStreamTrack>();

function descriptorOf(target: object, name: string): PropertyDescriptor | undefined {
  for (let proto: object | null = target; proto; proto = Object.getPrototypeOf(proto)) {
    const descriptor = Object.getOwnPropertyDescriptor(proto, name);
    if (descriptor) return descriptor;
  }
  return undefined;
}

export function hookTrack(track: MediaStreamTrack): void {
  if (hooked.has(track)) return;
  hooked.add(track);
  const enabled = descriptorOf(Object.getPrototypeOf(track) as object, 'enabled');
  const stop = track.stop;
  try {
    if (enabled?.get && enabled.set) {
      const { get, set } = enabled;
      Object.defineProperty(track, 'enabled', {
        configurable: true,
        enumerable: true,
        get: () => get.call(track) as boolean,
        set: (value: boolean) => {
          const before = get.call(track) as boolean;
          set.call(track, value);
          if (before !== Boolean(value)) track.dispatchEvent(new Event('enabledchange'));
        },
      });
    }
    track.stop = () => {
      const live = track.readyState === 'live';
      stop.call(track);
      if (live) track.dispatchEvent(new Event('ended'));
    };
  } catch {
    // A frozen or exotic track: the polls see the change a little later.
  }
}
