import type { ComponentChildren } from 'preact';
import { useLayoutEffect, useRef } from 'preact/hooks';

/**
 * A modal confirmation on the native <dialog>: focus moves into it and stays there, Escape cancels, and the page
 * behind is inert, for keyboard and screen-reader users alike. When it goes, focus goes back to the control that
 * opened it (a dialog removed from the page would otherwise leave it on <body>, the top of the page).
 */
export function ConfirmDialog(props: {
  title: string;
  confirmLabel: string;
  /** Said on the confirm button while busy: "Starting…" unless given. */
  busyLabel?: string;
  busy: boolean;
  /** false: no confirm button (what it would do is not safe now, e.g. after an unknown outcome). */
  canConfirm?: boolean;
  onConfirm: () => void;
  onCancel: () => void;
  /** Where focus returns on close, when the dialog was not opened from a control (shown again after sign-in). */
  opener?: () => HTMLElement | null;
  children: ComponentChildren;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  // A layout effect: its cleanup runs as the dialog leaves the page, where a passive one's would run a frame later,
  // leaving focus on <body> meanwhile.
  useLayoutEffect(() => {
    const element = dialog.current;
    const active = document.activeElement;
    const opener = active instanceof HTMLElement && active !== document.body ? active : props.opener?.();
    if (element && !element.open) element.showModal();
    return () => {
      element?.close();
      // Unless the page already moved focus on purpose (to the job list after an unknown outcome): focus was in the
      // dialog, and leaves with it, to <body>.
      const current = document.activeElement;
      const lost = current === null || current === document.body || element?.contains(current);
      if (lost && opener?.isConnected) opener.focus();
    };
  }, []);
  return (
    <dialog
      ref={dialog}
      aria-labelledby="confirm-title"
      onCancel={(event) => {
        event.preventDefault();
        if (!props.busy) props.onCancel();
      }}
    >
      <form
        method="dialog"
        onSubmit={(event) => {
          event.preventDefault();
          if (props.canConfirm !== false) props.onConfirm();
        }}
      >
        <h2 id="confirm-title">{props.title}</h2>
        {props.children}
        <div class="actions">
          <button type="button" class="secondary" onClick={props.onCancel} disabled={props.busy}>
            Cancel
          </button>
          {props.canConfirm !== false && (
            <button type="submit" class="primary" disabled={props.busy}>
              {props.busy ? (props.busyLabel ?? 'Starting…') : props.confirmLabel}
            </button>
          )}
        </div>
      </form>
    </dialog>
  );
}
