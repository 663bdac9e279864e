import { type ReactNode, useId } from 'react';

/**
 * A labelled control with its hint and the API's message for it. The control gets the id, aria-invalid
 * and aria-describedby from the render function, so a screen reader reads the message with the field.
 */
export function Field(props: {
  label: string;
  hint?: ReactNode;
  error?: string | undefined;
  children: (control: {
    id: string;
    'aria-invalid': boolean;
    'aria-describedby': string | undefined;
  }) => ReactNode;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const describedBy =
    [props.hint ? hintId : '', props.error ? errorId : ''].filter(Boolean).join(' ') || undefined;
  return (
    <div className={`field${props.error ? ' field-invalid' : ''}`}>
      <label htmlFor={id}>{props.label}</label>
      {props.children({ id, 'aria-invalid': Boolean(props.error), 'aria-describedby': describedBy })}
      {props.hint && (
        <small id={hintId} className="hint">
          {props.hint}
        </small>
      )}
      {props.error && (
        <small id={errorId} className="field-error">
          {props.error}
        </small>
      )}
    </div>
  );
}

/** Field problems of a 422 whose pointers no field claimed, so that none goes unseen. */
export function OtherErrors({
  errors,
  shown,
}: {
  errors: Record<string, string>;
  shown: (pointer: string) => boolean;
}) {
  const rest = Object.entries(errors).filter(([pointer]) => !shown(pointer));
  if (rest.length === 0) return null;
  return (
    <ul className="form-errors" role="alert">
      {rest.map(([pointer, detail]) => (
        <li key={pointer}>
          <code>{pointer || '/'}</code> {detail}
        </li>
      ))}
    </ul>
  );
}
