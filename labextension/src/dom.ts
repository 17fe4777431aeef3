/** The one DOM helper the sidebar's parts share. */

/** A new element with attributes (`class` sets the class name) and text. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  props: { [key: string]: string } = {},
  text?: string
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (key === 'class') {
      node.className = value;
    } else {
      node.setAttribute(key, value);
    }
  }
  if (text !== undefined) {
    node.textContent = text;
  }
  return node;
}

/** "1 sample", "2 samples". */
export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

/** A button (`type="button"`) that runs `action` when clicked. */
export function button(
  text: string,
  props: { [key: string]: string },
  action: () => void
): HTMLButtonElement {
  const node = el('button', { type: 'button', ...props }, text);
  node.addEventListener('click', action);
  return node;
}
