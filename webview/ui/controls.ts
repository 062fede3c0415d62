// The only module that knows @vscode/webview-ui-toolkit: panels ask for a button, a dropdown, a text
// field or a checkbox here, so swapping the toolkit touches this file alone. The toolkit's
// components carry VS Code's look in every theme and their own keyboard handling and ARIA roles.
import {
  provideVSCodeDesignSystem,
  vsCodeButton,
  vsCodeCheckbox,
  vsCodeDropdown,
  vsCodeOption,
  vsCodeProgressRing,
  vsCodeTextField,
} from '@vscode/webview-ui-toolkit';
import { el } from './dom';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeCheckbox(), vsCodeDropdown(), vsCodeOption(), vsCodeProgressRing(), vsCodeTextField());

export interface Control<V> {
  readonly element: HTMLElement;
  value: V;
  disabled: boolean;
  onChange(listener: (value: V) => void): void;
}

/** Toolkit elements are HTMLElements with these properties. */
type FormElement = HTMLElement & { value: string; disabled: boolean; checked: boolean };

export function button(
  label: string,
  options: { id: string; title?: string; secondary?: boolean; onClick: () => void },
): HTMLElement & { disabled: boolean } {
  const node = el('vscode-button' as 'button', {
    id: options.id,
    text: label,
    title: options.title,
    attributes: { appearance: options.secondary ? 'secondary' : 'primary', 'aria-label': options.title ?? label },
  });
  node.addEventListener('click', () => {
    if (!node.disabled) options.onClick();
  });
  return node;
}

/** Options a long list adds per idle moment: each toolkit option is a custom element, costly to build. */
const OPTIONS_PER_SLICE = 25;

export function dropdown<V extends string>(
  choices: readonly { value: V; label: string }[],
  options: { id: string; label: string; value?: V },
): Control<V> & {
  setChoices(choices: readonly { value: V; label: string }[]): void;
  /** Like setChoices, but built in slices when the page is idle: a list of hundreds of runs must not hold up a first draw. */
  setChoicesLater(choices: readonly { value: V; label: string }[]): void;
} {
  const node = el('vscode-dropdown' as 'select', { id: options.id, attributes: { 'aria-label': options.label } }) as unknown as FormElement;
  const option = (c: { value: V; label: string }) => el('vscode-option' as 'option', { text: c.label, attributes: { value: c.value } });
  let filling = 0;
  const select = (list: readonly { value: V; label: string }[], keep: string) => {
    if (list.some((c) => c.value === keep)) node.value = keep;
    else if (list.length > 0) node.value = list[0].value;
  };
  const fill = (list: readonly { value: V; label: string }[], keep: string) => {
    filling++;
    node.replaceChildren(...list.map(option));
    select(list, keep);
  };
  const fillLater = (list: readonly { value: V; label: string }[], keep: string) => {
    const generation = ++filling;
    node.replaceChildren();
    let next = 0;
    const slice = () => {
      if (generation !== filling) return;
      node.append(...list.slice(next, next + OPTIONS_PER_SLICE).map(option));
      next += OPTIONS_PER_SLICE;
      if (next < list.length) whenIdle(slice);
      else select(list, keep);
    };
    whenIdle(slice);
  };
  fill(choices, options.value ?? choices[0]?.value ?? '');
  return formControl(node, 'change', () => node.value as V, (v) => (node.value = v), {
    setChoices: (list: readonly { value: V; label: string }[]) => fill(list, node.value),
    setChoicesLater: (list: readonly { value: V; label: string }[]) => fillLater(list, node.value),
  });
}

/** The next idle moment of the page (a timer where requestIdleCallback is missing). */
function whenIdle(fn: () => void): void {
  if (typeof requestIdleCallback === 'function') requestIdleCallback(() => fn(), { timeout: 500 });
  else setTimeout(fn, 0);
}

export function textField(options: { id: string; label: string; placeholder?: string; value?: string; type?: 'text' | 'password' | 'number' | 'url' }): Control<string> {
  const node = el('vscode-text-field' as 'input', {
    id: options.id,
    attributes: { 'aria-label': options.label, placeholder: options.placeholder ?? '', type: options.type ?? 'text' },
  }) as unknown as FormElement;
  node.value = options.value ?? '';
  return formControl(node, 'input', () => node.value, (v) => (node.value = v), {});
}

export function checkbox(label: string, options: { id: string; checked?: boolean }): Control<boolean> {
  const node = el('vscode-checkbox' as 'input', { id: options.id, text: label }) as unknown as FormElement;
  node.checked = options.checked ?? false;
  return formControl(node, 'change', () => node.checked, (v) => (node.checked = v), {});
}

export function progressRing(label: string): HTMLElement {
  return el('vscode-progress-ring' as 'div', { attributes: { 'aria-label': label } });
}

/** A field with its visible label above it. */
export function labelled(label: string, control: HTMLElement): HTMLElement {
  return el('label', { className: 'field' }, [el('span', { className: 'field-label', text: label }), control]);
}

function formControl<V, Extra extends object>(
  node: FormElement,
  event: string,
  read: () => V,
  write: (value: V) => void,
  extra: Extra,
): Control<V> & Extra {
  return Object.assign(
    {
      element: node as HTMLElement,
      get value() {
        return read();
      },
      set value(v: V) {
        write(v);
      },
      get disabled() {
        return node.disabled;
      },
      set disabled(v: boolean) {
        node.disabled = v;
      },
      onChange(listener: (value: V) => void) {
        node.addEventListener(event, () => listener(read()));
      },
    },
    extra,
  );
}
