import type { ReactNode } from "react";

type InputProps = { id: string; "aria-invalid"?: true; "aria-describedby"?: string };

/** A labelled input with an optional hint and an error tied to it
 * (aria-invalid, aria-describedby; the error is an alert). */
export function Field({ id, label, hint, error, children }: { id: string; label: string; hint?: string; error?: string; children: (props: InputProps) => ReactNode }) {
  const describedBy = [error ? `${id}-error` : null, hint ? `${id}-hint` : null].filter(Boolean).join(" ");
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {hint && <p className="hint" id={`${id}-hint`}>{hint}</p>}
      {children({ id, "aria-invalid": error ? true : undefined, "aria-describedby": describedBy || undefined })}
      {error && <p className="field-error" id={`${id}-error`} role="alert">{error}</p>}
    </div>
  );
}
