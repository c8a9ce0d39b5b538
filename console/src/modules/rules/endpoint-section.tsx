import type { ReactNode } from 'react';
import { endpointFeature, type Gate } from './edition-gates';
import type { EndpointDrafts } from './rule-draft';
import type { EndpointKey } from './rule-fields';
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
  gate: Gate;
  /** Fields of the section that are not endpoint fields (direction/protocol, reflection/clone). */
  children?: ReactNode;
}

export function EndpointSection({ legend, path, fields, onChange, errors, adapterOptions, gate, children }: Props) {
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
          gated={gateOf(gate, field.key)}
          onChange={(draft) => onChange({ ...fields, [field.key]: draft })}
        />
      ))}
    </fieldset>
  );
}

function gateOf(gate: Gate, key: EndpointKey): string | null {
  const feature = endpointFeature(key);
  return feature ? gate(feature) : null;
}
