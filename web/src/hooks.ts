import { useEffect, useRef, useState } from 'react';

/** The time of this render; re-renders every `ms` so that "3 s ago" labels move on. */
export function useNow(ms: number) {
  const [, setTick] = useState(0);
  useEffect(() => {
    const timer = window.setInterval(() => setTick((t) => t + 1), ms);
    return () => window.clearInterval(timer);
  }, [ms]);
  return Date.now();
}

/** True for a moment after `value` changes: rows flash when their price moves. */
export function useFlash(value: unknown, ms = 900) {
  const [flash, setFlash] = useState(false);
  const previous = useRef(value);
  useEffect(() => {
    if (previous.current === value) return;
    previous.current = value;
    setFlash(true);
    const timer = window.setTimeout(() => setFlash(false), ms);
    return () => window.clearTimeout(timer);
  }, [value, ms]);
  return flash;
}

export function useDocumentTitle(title: string) {
  useEffect(() => {
    document.title = title ? `${title} · Stockwatch` : 'Stockwatch';
  }, [title]);
}
