import { useEffect, useRef, useState } from 'react';

/** The current time, refreshed every `ms`, for "3 s ago" labels. */
export function useNow(ms: number) {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), ms);
    return () => window.clearInterval(timer);
  }, [ms]);
  return now;
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
