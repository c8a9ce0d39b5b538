import styles from './pushes.module.css';

/** Checkboxes for the groups (or labels) a push goes to. */
export function TagPicker({ title, name, options, selected, onChange }: {
  title: string; name: string; options: readonly string[]; selected: ReadonlySet<string>; onChange: (next: Set<string>) => void;
}) {
  const toggle = (tag: string) => {
    const next = new Set(selected);
    if (next.has(tag)) next.delete(tag);
    else next.add(tag);
    onChange(next);
  };
  return (
    <fieldset style={{ border: 0, padding: 0, margin: 0 }}>
      <legend className="label" style={{ marginBottom: 4 }}>{title}</legend>
      {options.length === 0 ? <span className="hint">No agent has a {name} yet (set them on the Agents page).</span> : (
        <div className={styles.tagList}>
          {options.map((tag) => (
            <label key={tag}>
              <input type="checkbox" checked={selected.has(tag)} onChange={() => toggle(tag)} aria-label={`Push to ${name} ${tag}`} />
              <span className="mono">{tag}</span>
            </label>
          ))}
        </div>
      )}
    </fieldset>
  );
}
