// The parameter forms' own widgets, chosen by what the server's schemas say of a string:
// `x-switchyard-variable` (a variable the action reads or stores into) gets the variable
// picker, `x-switchyard-template` (text with `{{ variable.field }}` placeholders) a text area
// that completes the placeholders; every other string is RJSF's own input. An "I know"
// selector (`x-switchyard-object-kind`) is one field: how the object is known, then the
// object of that kind picked from a list, its reference, or the variable holding it.
import { createContext, useContext, useEffect, useId, useMemo, useRef, useState, type KeyboardEvent } from "react";
import { getTemplate, type FieldProps, type RegistryFieldsType, type RegistryWidgetsType, type RJSFSchema, type UiSchema, type WidgetProps } from "@rjsf/utils";

/** A variable a routing can name: declared (a business object) or filled by the system. */
export type VariableChoice = { path: string; description: string; system: boolean };

/** The variables the form being edited may name (the editor provides them). */
export const VariableChoices = createContext<VariableChoice[]>([]);

/** At most this many suggestions are shown at once. */
const SHOWN = 8;

/** The choices that hold what is typed, those that begin with it first. */
function matching(choices: VariableChoice[], typed: string) {
  const t = typed.toLowerCase();
  const holding = choices.filter((c) => c.path.toLowerCase().includes(t));
  const first = holding.filter((c) => c.path.toLowerCase().startsWith(t));
  return [...first, ...holding.filter((c) => !c.path.toLowerCase().startsWith(t))].slice(0, SHOWN);
}

function VariableInput(props: WidgetProps) {
  const all = useContext(VariableChoices);
  // a variable stored into cannot be a system one
  const choices = props.schema["x-switchyard-variable"] === "write" ? all.filter((c) => !c.system) : all;
  const list = useId();
  return (
    <>
      <input
        id={props.id}
        name={props.id}
        className="form-control"
        list={list}
        value={(props.value as string | undefined) ?? ""}
        required={props.required}
        disabled={props.disabled || props.readonly}
        autoComplete="off"
        aria-describedby={`${props.id}__description`}
        onChange={(e) => props.onChange(e.target.value === "" ? props.options.emptyValue : e.target.value)}
        onBlur={(e) => props.onBlur(props.id, e.target.value)}
        onFocus={(e) => props.onFocus(props.id, e.target.value)}
      />
      <datalist id={list}>
        {choices.map((c) => (
          <option key={c.path} value={c.path}>
            {c.description}
          </option>
        ))}
      </datalist>
    </>
  );
}

/** Where the caret stands in an unclosed `{{ …`: the start of the placeholder and what is typed. */
function openPlaceholder(text: string, caret: number): { start: number; typed: string } | null {
  const m = /\{\{\s*([A-Za-z0-9_.]*)$/.exec(text.slice(0, caret));
  return m ? { start: m.index, typed: m[1] } : null;
}

function TemplateInput(props: WidgetProps) {
  const choices = useContext(VariableChoices);
  const area = useRef<HTMLTextAreaElement>(null);
  const [open, setOpen] = useState<{ start: number; typed: string } | null>(null);
  const [active, setActive] = useState(0);
  const list = useId();
  const value = (props.value as string | undefined) ?? "";
  const shown = useMemo(() => (open ? matching(choices, open.typed) : []), [open, choices]);
  const look = (el: HTMLTextAreaElement) => {
    setOpen(openPlaceholder(el.value, el.selectionStart));
    setActive(0);
  };
  const insert = (c: VariableChoice) => {
    const el = area.current;
    if (!el || !open) return;
    const caret = el.selectionStart;
    const text = `${value.slice(0, open.start)}{{ ${c.path} }}${value.slice(caret)}`;
    props.onChange(text);
    setOpen(null);
    const at = open.start + c.path.length + 6;
    requestAnimationFrame(() => {
      el.focus();
      el.setSelectionRange(at, at);
    });
  };
  const keys = (e: KeyboardEvent<HTMLTextAreaElement>) => {
    if (!open || shown.length === 0) return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      setActive((a) => (a + (e.key === "ArrowDown" ? 1 : shown.length - 1)) % shown.length);
    } else if (e.key === "Enter" || e.key === "Tab") {
      e.preventDefault();
      insert(shown[active]);
    } else if (e.key === "Escape") {
      e.preventDefault();
      setOpen(null);
    }
  };
  const expanded = !!open && shown.length > 0;
  return (
    <div className="template-input">
      <textarea
        ref={area}
        id={props.id}
        name={props.id}
        className="form-control"
        rows={Math.min(8, Math.max(2, value.split("\n").length))}
        value={value}
        required={props.required}
        disabled={props.disabled || props.readonly}
        aria-autocomplete="list"
        aria-controls={list}
        aria-activedescendant={expanded ? `${list}-${active}` : undefined}
        aria-describedby={`${props.id}__description`}
        onChange={(e) => {
          props.onChange(e.target.value === "" ? props.options.emptyValue : e.target.value);
          look(e.target);
        }}
        onKeyDown={keys}
        onClick={(e) => look(e.currentTarget)}
        onBlur={(e) => {
          // a click on a suggestion lands before the list goes
          setTimeout(() => setOpen(null), 150);
          props.onBlur(props.id, e.target.value);
        }}
        onFocus={(e) => props.onFocus(props.id, e.target.value)}
      />
      <ul id={list} role="listbox" aria-label="Variables" className="suggestions" hidden={!expanded}>
        {shown.map((c, i) => (
          <li
            key={c.path}
            id={`${list}-${i}`}
            role="option"
            aria-selected={i === active}
            onMouseDown={(e) => {
              e.preventDefault();
              insert(c);
            }}
          >
            <code>{c.path}</code> <span className="muted">{c.description}</span>
          </li>
        ))}
      </ul>
    </div>
  );
}

/** RJSF's text widget, replaced: variables and templates get theirs, the rest RJSF's input. */
function TextWidget(props: WidgetProps) {
  if (props.schema["x-switchyard-variable"]) return <VariableInput {...props} />;
  if (props.schema["x-switchyard-template"]) return <TemplateInput {...props} />;
  const BaseInputTemplate = getTemplate("BaseInputTemplate", props.registry, props.options);
  return <BaseInputTemplate {...props} />;
}

export const widgets: RegistryWidgetsType = { TextWidget };

/** A business object as the "I know" selector lists it. */
export type KnownObject = { id: string; name: string; reference: string };

/** The objects of a kind (`queue`, `checkpoint`…), or `null` where none are listed here (a CRM
 * directory, say: its id is typed in). */
export const ObjectSources = createContext<(kind: string) => Promise<KnownObject[] | null>>(() => Promise.resolve(null));

const KIND = "x-switchyard-object-kind";
type Selector = { by: "entity"; id: string } | { by: "reference"; reference: string } | { by: "reference_from_variable"; variable: string };

/** The object kind a schema picks, and whether it may be left out (`Option`: `anyOf` with null). */
function pickerOf(schema: RJSFSchema, resolve: (s: unknown) => RJSFSchema | undefined): { kind: string; nullable: boolean } | null {
  const own = schema[KIND];
  if (typeof own === "string") return { kind: own, nullable: false };
  const members = (schema.anyOf ?? []).map(resolve);
  const kind = members.map((m) => m?.[KIND]).find((k): k is string => typeof k === "string");
  return kind ? { kind, nullable: members.some((m) => m?.type === "null") } : null;
}

function resolver(root: RJSFSchema) {
  return (s: unknown): RJSFSchema | undefined => {
    if (!s || typeof s !== "object") return undefined;
    const ref = (s as RJSFSchema).$ref;
    if (typeof ref === "string" && ref.startsWith("#/$defs/")) return (root.$defs as Record<string, RJSFSchema> | undefined)?.[ref.slice(8)];
    return s as RJSFSchema;
  };
}

/** The uiSchema that gives every "I know" selector of a parameters schema its own field. */
export function uiSchemaFor(root: RJSFSchema): UiSchema {
  const resolve = resolver(root);
  const walk = (given: unknown, depth: number): UiSchema => {
    const s = resolve(given);
    if (!s || depth > 10) return {};
    if (pickerOf(s, resolve)) return { "ui:field": "objectPicker", "ui:fieldReplacesAnyOrOneOf": true };
    const out: UiSchema = {};
    for (const part of [s, ...(s.oneOf ?? []), ...(s.anyOf ?? []), ...(s.allOf ?? [])].map(resolve)) {
      if (!part) continue;
      for (const [key, property] of Object.entries(part.properties ?? {})) {
        const inner = walk(property, depth + 1);
        if (Object.keys(inner).length) out[key] = { ...(out[key] as UiSchema | undefined), ...inner };
      }
      if (part.items && typeof part.items === "object" && !Array.isArray(part.items)) {
        const inner = walk(part.items, depth + 1);
        if (Object.keys(inner).length) out.items = inner;
      }
    }
    return out;
  };
  return walk(root, 0);
}

const WAYS: { by: Selector["by"]; label: string }[] = [
  { by: "entity", label: "I know the object" },
  { by: "reference", label: "I know its reference" },
  { by: "reference_from_variable", label: "Its reference is in a variable" },
];

/** The "I know" selector: how the object is known, then which one. */
function ObjectPickerField(props: FieldProps) {
  const sources = useContext(ObjectSources);
  const variables = useContext(VariableChoices);
  const picker = pickerOf(props.schema, resolver(props.registry.rootSchema)) ?? { kind: "", nullable: false };
  const [objects, setObjects] = useState<KnownObject[] | null>(null);
  useEffect(() => {
    if (picker.kind) sources(picker.kind).then(setObjects, () => setObjects(null));
  }, [picker.kind, sources]);
  const id = props.fieldPathId.$id;
  const lists = useId();
  const value = (props.formData ?? null) as Selector | null;
  const set = (v: Selector | null) => props.onChange((v ?? undefined) as never, props.fieldPathId.path);
  const disabled = props.disabled || props.readonly;
  const title = props.schema.title ?? props.name;
  const named = props.schema["x-switchyard-object-label"] ?? (props.schema.anyOf ?? []).map((m) => resolver(props.registry.rootSchema)(m)?.["x-switchyard-object-label"]).find(Boolean);
  const kindLabel = typeof named === "string" ? named : picker.kind.replace(/_/g, " ");
  return (
    <fieldset className="object-picker" id={id}>
      <legend>
        {title}
        {props.required ? "*" : ""}
      </legend>
      {props.schema.description && <p className="muted">{props.schema.description}</p>}
      <label>
        How the {kindLabel} is known
        <select
          id={`${id}__by`}
          value={value?.by ?? ""}
          disabled={disabled}
          onChange={(e) => {
            const by = e.target.value;
            set(by === "entity" ? { by, id: "" } : by === "reference" ? { by, reference: "" } : by === "reference_from_variable" ? { by, variable: "" } : null);
          }}
        >
          <option value="">{picker.nullable ? "None" : "Choose"}</option>
          {WAYS.map((w) => (
            <option key={w.by} value={w.by}>
              {w.label}
            </option>
          ))}
        </select>
      </label>
      {value?.by === "entity" &&
        (objects ? (
          <label>
            The {kindLabel}
            <select id={`${id}__id`} value={value.id} disabled={disabled} required onChange={(e) => set({ by: "entity", id: e.target.value })}>
              <option value="">Choose</option>
              {objects.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name} ({o.reference})
                </option>
              ))}
            </select>
          </label>
        ) : (
          <label>
            Its id
            <input id={`${id}__id`} value={value.id} disabled={disabled} required onChange={(e) => set({ by: "entity", id: e.target.value })} />
          </label>
        ))}
      {value?.by === "reference" && (
        <label>
          Its reference
          <input
            id={`${id}__reference`}
            list={`${lists}-refs`}
            value={value.reference}
            disabled={disabled}
            required
            autoComplete="off"
            onChange={(e) => set({ by: "reference", reference: e.target.value })}
          />
          <datalist id={`${lists}-refs`}>
            {(objects ?? []).map((o) => (
              <option key={o.id} value={o.reference}>
                {o.name}
              </option>
            ))}
          </datalist>
        </label>
      )}
      {value?.by === "reference_from_variable" && (
        <label>
          The variable holding its reference
          <input
            id={`${id}__variable`}
            list={`${lists}-vars`}
            value={value.variable}
            disabled={disabled}
            required
            autoComplete="off"
            onChange={(e) => set({ by: "reference_from_variable", variable: e.target.value })}
          />
          <datalist id={`${lists}-vars`}>
            {variables.map((c) => (
              <option key={c.path} value={c.path}>
                {c.description}
              </option>
            ))}
          </datalist>
        </label>
      )}
      {(props.rawErrors ?? []).map((e, i) => (
        <p key={i} className="error">
          {e}
        </p>
      ))}
    </fieldset>
  );
}

export const fields: RegistryFieldsType = { objectPicker: ObjectPickerField };
