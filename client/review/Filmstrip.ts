// The filmstrip under the timeline: small pictures of the screen recording, one every few seconds,
// so a reviewer sees where to look before playing. The server stores one JPEG sheet (tile i,
// row-major, shows the screen at i × intervalSeconds); each picture here is that sheet cropped to
// its tile, in a button that plays from there. One Tab stop, the arrow keys move (RovingFocus).
import type { FilmstripView } from '../shared/recordingStatus.ts';
import { clockWords } from '../shared/timelineWords.ts';
import { RovingFocus } from './RovingFocus.ts';

export function showFilmstrip(list: HTMLElement, filmstrip: FilmstripView, onSeek: (seconds: number) => void): void {
  const { url, intervalSeconds, count, columns, tileWidth, tileHeight } = filmstrip;
  const buttons: HTMLButtonElement[] = [];
  const focus = new RovingFocus(list, () => buttons);
  list.replaceChildren(
    ...Array.from({ length: count }, (_, index) => {
      const seconds = index * intervalSeconds;
      const item = document.createElement('li');
      const button = document.createElement('button');
      button.type = 'button';
      button.setAttribute('aria-label', `Play from ${clockWords(seconds)}`);
      const image = document.createElement('img');
      image.src = url;
      image.alt = '';
      image.width = tileWidth;
      image.height = tileHeight;
      // The whole sheet, shifted so this tile shows (one download for all of them).
      image.style.objectPosition = `${-(index % columns) * tileWidth}px ${-Math.floor(index / columns) * tileHeight}px`;
      const time = document.createElement('span');
      time.textContent = clockWords(seconds);
      button.append(image, time);
      button.addEventListener('click', () => {
        focus.update(button);
        onSeek(seconds);
      });
      buttons.push(button);
      item.append(button);
      return item;
    }),
  );
  focus.update();
}
