import { useSyncExternalStore } from 'react';

export type Theme = 'light' | 'dark';

const KEY = 'stockwatch.theme';
const media = window.matchMedia('(prefers-color-scheme: dark)');
const listeners = new Set<() => void>();
let chosen: Theme | undefined;

function stored(): Theme | undefined {
  try {
    const v = localStorage.getItem(KEY);
    return v === 'light' || v === 'dark' ? v : undefined;
  } catch {
    return undefined;
  }
}

/** The theme in effect: the one chosen with the toggle, else the system's. */
export function currentTheme(): Theme {
  return chosen ?? (media.matches ? 'dark' : 'light');
}

function apply() {
  document.documentElement.dataset.theme = currentTheme();
  for (const l of listeners) l();
}

export function setTheme(theme: Theme) {
  chosen = theme;
  try {
    localStorage.setItem(KEY, theme);
  } catch {
    // Private mode without storage: the choice lasts until the page reloads.
  }
  apply();
}

/** Sets data-theme before the first render (no inline script may do it: the CSP forbids them). */
export function initTheme() {
  chosen = stored();
  apply();
  media.addEventListener('change', apply);
}

export function useTheme(): Theme {
  return useSyncExternalStore((l) => {
    listeners.add(l);
    return () => listeners.delete(l);
  }, currentTheme);
}
