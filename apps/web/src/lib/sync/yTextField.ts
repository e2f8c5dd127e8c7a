import type { Attachment } from 'svelte/attachments';
import type * as Y from 'yjs';
import { editSession } from './editSession.js';
import { shiftPosition } from './textDiff.js';

export interface YTextFieldOptions {
  /**
   * Writes the field's whole new value to the shared text, through the model (which replaces only
   * the changed middle). Throwing refuses the edit: the field goes back to the shared text.
   */
  write: (value: string) => void;
  /** Told why an edit was refused, in words for the person. */
  onRefused?: (error: unknown) => void;
  /** Called when the field gains or loses focus, to tell the partner "… is editing". */
  onFocusChange?: (focused: boolean) => void;
  /** Called with the caret's index in the shared text whenever it may have moved. */
  onCaret?: (index: number) => void;
}

/**
 * Binds a textarea or input to a live `Y.Text`. Local typing becomes the smallest splice of the
 * shared text, so two people typing in different places both keep their words; a remote change
 * updates the field and moves the caret with the text around it.
 */
export function yTextField(
  text: Y.Text,
  options: YTextFieldOptions,
): Attachment<HTMLTextAreaElement | HTMLInputElement> {
  return (field) => {
    field.value = text.toString();
    let composing = false;

    const write = () => {
      if (field.value === text.toString()) return;
      try {
        options.write(field.value);
      } catch (error) {
        options.onRefused?.(error);
        field.value = text.toString();
      }
    };

    const onChange = (event: Y.YTextEvent) => {
      // Our own writes leave the field equal to the text: nothing to do, and the caret stays.
      if (field.value === text.toString()) return;
      // Mid-composition (IME), rewriting the field would break the word being composed; the
      // compositionend handler writes and then re-reads the shared text.
      if (composing) return;
      const focused = field.ownerDocument.activeElement === field;
      const start = field.selectionStart ?? 0;
      const end = field.selectionEnd ?? 0;
      const direction = field.selectionDirection ?? 'none';
      field.value = text.toString();
      if (focused) {
        field.setSelectionRange(
          shiftPosition(start, event.delta),
          shiftPosition(end, event.delta),
          direction,
        );
      }
    };

    const onInput = () => {
      if (!composing) write();
      caret();
    };
    const onCompositionStart = () => {
      composing = true;
    };
    const onCompositionEnd = () => {
      composing = false;
      write();
      if (field.value !== text.toString()) field.value = text.toString();
    };
    const caret = () => {
      if (field.ownerDocument.activeElement === field) {
        options.onCaret?.(field.selectionStart ?? field.value.length);
      }
    };
    let session: object | null = null;
    const onFocus = () => {
      session = editSession.begin();
      options.onFocusChange?.(true);
      caret();
    };
    const onBlur = () => {
      if (session) editSession.end(session);
      session = null;
      options.onFocusChange?.(false);
    };

    text.observe(onChange);
    field.addEventListener('input', onInput);
    field.addEventListener('compositionstart', onCompositionStart);
    field.addEventListener('compositionend', onCompositionEnd);
    field.addEventListener('focus', onFocus);
    field.addEventListener('blur', onBlur);
    field.addEventListener('keyup', caret);
    field.addEventListener('pointerup', caret);
    field.addEventListener('select', caret);
    return () => {
      field.removeEventListener('keyup', caret);
      field.removeEventListener('pointerup', caret);
      field.removeEventListener('select', caret);
      text.unobserve(onChange);
      field.removeEventListener('input', onInput);
      field.removeEventListener('compositionstart', onCompositionStart);
      field.removeEventListener('compositionend', onCompositionEnd);
      field.removeEventListener('focus', onFocus);
      field.removeEventListener('blur', onBlur);
      if (session) editSession.end(session);
      if (field.ownerDocument.activeElement === field) options.onFocusChange?.(false);
    };
  };
}
