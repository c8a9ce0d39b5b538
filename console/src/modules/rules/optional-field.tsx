import { useId } from 'react';
import { AddressHint } from './address-hint';
import type { FieldDraft } from './rule-draft';
import type { EndpointField } from './rule-fields';
import styles from './rule-form.module.css';

interface Props {
  field: EndpointField;
  draft: FieldDraft;
  onChange: (draft: FieldDraft) => void;
  error?: string;
  /** Adapter names the fleet reported, offered as suggestions. */
  adapterOptions?: readonly string[];
  /** Why the edition does not allow this field; the field stays off (or can only be turned off). */
  gated?: string | null;
}

/** One optional rule field: its own checkbox enables the input (SPEC §1). */
export function OptionalField({ field, draft, onChange, error, adapterOptions = [], gated = null }: Props) {
  const id = useId();
  const hintId = `${id}-hint`;
  const errorId = `${id}-error`;
  const listId = field.kind === 'adapter' && adapterOptions.length > 0 ? `${id}-adapters` : undefined;
  return (
    <div className={styles.optional} data-field={field.key} data-gated={gated ? true : undefined}>
      <label className={styles.toggle} title={gated ?? undefined}>
        <input type="checkbox" checked={draft.on} disabled={gated !== null && !draft.on}
          onChange={(e) => onChange({ ...draft, on: e.target.checked })} />
        {field.label}
      </label>
      <div className={styles.control}>
        <input
          className="input"
          aria-label={`${field.label} value`}
          disabled={!draft.on}
          value={draft.value}
          placeholder={field.placeholder}
          inputMode={field.kind === 'port' ? 'numeric' : undefined}
          list={listId}
          aria-invalid={error ? true : undefined}
          aria-describedby={[error ? errorId : '', field.kind === 'address' ? hintId : ''].filter(Boolean).join(' ') || undefined}
          onChange={(e) => onChange({ ...draft, value: e.target.value })}
        />
        {listId && (
          <datalist id={listId}>
            {adapterOptions.map((name) => <option key={name} value={name} />)}
          </datalist>
        )}
        {field.kind === 'address' && draft.on && <AddressHint id={hintId} value={draft.value} />}
        {gated && <span className="hint" data-testid="gate-reason">🔒 {gated}</span>}
        {error && <span id={errorId} className="field-error" role="alert">{error}</span>}
      </div>
    </div>
  );
}
