/** `Key=value` lines of a systemd unit, the last one winning (as systemd reads them), without comments. */
export function unitSettings(text: string): Map<string, string> {
  const found = new Map<string, string>();
  for (const line of text.split('\n')) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line.trim());
    if (match) found.set(match[1]!, match[2]!);
  }
  return found;
}
