import type { ReactNode } from 'react';
import type { EndpointDrafts } from './rule-draft';
import { ENDPOINT_FIELDS } from './rule-fields';
import { OptionalField } from './optional-field';
import styles from './rule-form.module.css';

interface Props {
  legend: string;
  /** Path prefix of these fields in the API's error details: `selector` or `forwardAs`. */
  path: 'selector' | 'forwardAs';
  fields: EndpointDrafts;
  onChange: (fields: EndpointDrafts) => void;
  errors: Record<string, string>;
  adapterOptions: readonly string[];
  /** Fields of the section that are not endpoint fields (direction/protocol, reflection/clone). */
  children?: ReactNode;
}

export function EndpointSection({ legend, path, fields, onChange, errors, adapterOptions, children }: Props) {
  return (
    <fieldset className={styles.section}>
      <legend>{legend}</legend>
      {children}
      {ENDPOINT_FIELDS.map((field) => (
        <OptionalField
          key={field.key}
          field={field}
          draft={fields[field.key]}
          error={errors[`${path}.${field.key}`]}
          adapterOptions={adapterOptions}
          onChange={(draft) => onChange({ ...fields, [field.key]: draft })}
        />
      ))}
    </fieldset>
  );
}
