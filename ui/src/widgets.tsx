// The parameter forms' own widgets, chosen by what the server's schemas say of a string:
// `x-switchyard-variable` (a variable the action reads or stores into) gets the variable
// picker, `x-switchyard-template` (text with `{{ variable.field }}` placeholders) a text area
// that completes the placeholders; every other string is RJSF's own input. An "I know"
// selector (`x-switchyard-object-kind`) is one field: how the object is known, then the
// object of that kind picked from a list, its reference, or the variable holding it. A column
// of a database action (`x-switchyard-column`) offers the columns of the database the form's
// selector names, and the value beside a LIST column offers its proposals.
import { createContext, useCallback, useContext, useEffect, useId, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from "react";
import { getDefaultRegistry } from "@rjsf/core";
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

/** A widget's text input offering `offered` (a `datalist`: value and what it is), any other
 * text allowed. */
function OfferingInput(props: WidgetProps & { offered: { value: string; label: string }[] }) {
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
        {props.offered.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </datalist>
    </>
  );
}

function VariableInput(props: WidgetProps) {
  const all = useContext(VariableChoices);
  // a variable stored into cannot be a system one
  const choices = props.schema["x-switchyard-variable"] === "write" ? all.filter((c) => !c.system) : all;
  return <OfferingInput {...props} offered={choices.map((c) => ({ value: c.path, label: c.description }))} />;
}

/** Where the caret stands in an unclosed `{{ …`: the start of the placeholder and what is typed. */
function openPlaceholder(text: string, caret: number): { start: number; typed: string } | null {
  const m = /\{\{\s*([A-Za-z0-9_.]*)$/.exec(text.slice(0, caret));
  return m ? { start: m.index, typed: m[1] } : null;
}

function TemplateInput(props: WidgetProps) {
  const choices = useContext(VariableChoices);
  const column = useContext(ItemColumn);
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
      {column?.type === "list" && (column.proposals ?? []).length > 0 && (
        <select
          aria-label={`A proposal of ${column.name}`}
          value={(column.proposals ?? []).includes(value) ? value : ""}
          disabled={props.disabled || props.readonly}
          onChange={(e) => e.target.value && props.onChange(e.target.value)}
        >
          <option value="">A proposal of {column.name}…</option>
          {(column.proposals ?? []).map((p) => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      )}
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

/** A column of a custom database, as the database's definition states it. */
type DatabaseColumn = { name: string; type: string; proposals?: string[] };

/** The objects the "I know" selectors of the form being edited name, by kind (a database
 * action's columns are its database's). Each form has its own ([`ChosenObjects`]). */
const Chosen = createContext<{ chosen: Record<string, Selector | null>; note: (kind: string, value: Selector | null) => void }>({
  chosen: {},
  note: () => {},
});

/** Keeps what the form's selectors name, for the fields that depend on it. */
export function ChosenObjects(props: { children: ReactNode }) {
  const [chosen, setChosen] = useState<Record<string, Selector | null>>({});
  const note = useCallback(
    (kind: string, value: Selector | null) =>
      setChosen((c) => (JSON.stringify(c[kind] ?? null) === JSON.stringify(value) ? c : { ...c, [kind]: value })),
    [],
  );
  const value = useMemo(() => ({ chosen, note }), [chosen, note]);
  return <Chosen.Provider value={value}>{props.children}</Chosen.Provider>;
}

/** The columns of the database the form names (none while it is unknown: named by a variable,
 * or not chosen yet). */
function useDatabaseColumns(): DatabaseColumn[] {
  const sources = useContext(ObjectSources);
  const { chosen } = useContext(Chosen);
  const selector = chosen.database ?? null;
  const [columns, setColumns] = useState<DatabaseColumn[]>([]);
  useEffect(() => {
    let live = true;
    const pick = (objects: KnownObject[] | null) => {
      const found = (objects ?? []).find((o) =>
        selector?.by === "entity" ? o.id === selector.id : selector?.by === "reference" ? o.reference === selector.reference : false,
      );
      const cols = (found?.data as { columns?: DatabaseColumn[] } | undefined)?.columns ?? [];
      if (live) setColumns(cols);
    };
    if (selector) sources("database").then(pick, () => live && setColumns([]));
    else setColumns([]);
    return () => {
      live = false;
    };
  }, [selector, sources]);
  return columns;
}

/** The column of the "column = value" pair being drawn (its value offers the column's
 * proposals). */
const ItemColumn = createContext<DatabaseColumn | null>(null);

/** A column of the form's database: its columns offered, any name allowed (compile checks it). */
function ColumnInput(props: WidgetProps) {
  const columns = useDatabaseColumns();
  return <OfferingInput {...props} offered={columns.map((c) => ({ value: c.name, label: c.type }))} />;
}

/** RJSF's text widget, replaced: variables, templates and columns get theirs, the rest RJSF's
 * input. */
function TextWidget(props: WidgetProps) {
  if (props.schema["x-switchyard-column"]) return <ColumnInput {...props} />;
  if (props.schema["x-switchyard-variable"]) return <VariableInput {...props} />;
  if (props.schema["x-switchyard-template"]) return <TemplateInput {...props} />;
  const BaseInputTemplate = getTemplate("BaseInputTemplate", props.registry, props.options);
  return <BaseInputTemplate {...props} />;
}

const CoreSelect = getDefaultRegistry().widgets.SelectWidget;

/** RJSF's select, with a label of its own where RJSF gives none: the select of a `oneOf`
 * (which of its forms a value takes) has no label element, so it is named after its field. */
function SelectWidget(props: WidgetProps) {
  const choosing = /__(one|any)of_select$/.test(props.id);
  return (
    <>
      {choosing && (
        <label htmlFor={props.id} className="visually-hidden">
          {`${props.label || "value"}: which kind`}
        </label>
      )}
      <CoreSelect {...props} />
    </>
  );
}

export const widgets: RegistryWidgetsType = { TextWidget, SelectWidget };

/** A business object as the "I know" selector lists it (with its data, where the list gives
 * it: a database's columns). */
export type KnownObject = { id: string; name: string; reference: string; data?: unknown };

/** The objects of a kind (`queue`, `checkpoint`…), or `null` where none are listed here (a CRM
 * directory, say: its id is typed in). */
export const ObjectSources = createContext<(kind: string) => Promise<KnownObject[] | null>>(() => Promise.resolve(null));

const KIND = "x-switchyard-object-kind";
/** A selector's value: `by` says how the object is known, the other field which one. */
type Selector = { by: string; id?: string; reference?: string; variable?: string };

/** The schema of a selector (the member of an `Option`'s `anyOf` that states the kind), its
 * kind, label, whether it may be left out, and the ways its `by` offers. */
function pickerOf(schema: RJSFSchema, resolve: (s: unknown) => RJSFSchema | undefined) {
  const own = typeof schema[KIND] === "string" ? schema : undefined;
  const members = (schema.anyOf ?? []).map(resolve);
  const base = own ?? members.find((m) => typeof m?.[KIND] === "string");
  if (!base) return null;
  const ways = (base.oneOf ?? [])
    .map(resolve)
    .map((v) => ({ by: (v?.properties?.by as RJSFSchema | undefined)?.const, description: v?.description }))
    .filter((w): w is { by: string; description: string | undefined } => typeof w.by === "string");
  return {
    kind: base[KIND] as string,
    label: typeof base["x-switchyard-object-label"] === "string" ? (base["x-switchyard-object-label"] as string) : (base[KIND] as string).replace(/_/g, " "),
    nullable: !own && members.some((m) => m?.type === "null"),
    ways,
  };
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
    const field = resolve((s.properties as Record<string, unknown> | undefined)?.field);
    if (field?.["x-switchyard-column"]) return { "ui:field": "columnItem" };
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

/** What each way of knowing an object is called; a way of a kind's own (the customer's owner)
 * is called by its description. */
const WAYS: Record<string, string> = {
  entity: "I know the object",
  reference: "I know its reference",
  reference_from_variable: "Its reference is in a variable",
};

/** A text input offering `options` (a `datalist`), any other text allowed. */
function Suggested(props: { id: string; label: string; value: string; disabled?: boolean; options: { value: string; label: string }[]; onChange: (v: string) => void }) {
  const list = useId();
  return (
    <div className="labelled">
      <label htmlFor={props.id}>{props.label}</label>
      <input id={props.id} list={list} value={props.value} disabled={props.disabled} required autoComplete="off" onChange={(e) => props.onChange(e.target.value)} />
      <datalist id={list}>
        {props.options.map((o) => (
          <option key={o.value} value={o.value}>
            {o.label}
          </option>
        ))}
      </datalist>
    </div>
  );
}

/** The "I know" selector: how the object is known, then which one. */
function ObjectPickerField(props: FieldProps) {
  const sources = useContext(ObjectSources);
  const variables = useContext(VariableChoices);
  const picker = pickerOf(props.schema, resolver(props.registry.rootSchema)) ?? { kind: "", label: "object", nullable: false, ways: [] };
  const [objects, setObjects] = useState<KnownObject[] | null>(null);
  useEffect(() => {
    if (picker.kind) sources(picker.kind).then(setObjects, () => setObjects(null));
  }, [picker.kind, sources]);
  const id = props.fieldPathId.$id;
  const value = (props.formData ?? null) as Selector | null;
  const set = (v: Selector | null) => props.onChange((v ?? undefined) as never, props.fieldPathId.path);
  const disabled = props.disabled || props.readonly;
  const by = value?.by ?? "";
  const { note } = useContext(Chosen);
  const noted = JSON.stringify(value);
  useEffect(() => {
    if (picker.kind) note(picker.kind, JSON.parse(noted) as Selector | null);
  }, [picker.kind, noted, note]);
  return (
    <fieldset className="object-picker" id={id}>
      <legend>
        {props.schema.title ?? props.name}
        {props.required ? "*" : ""}
      </legend>
      {props.schema.description && <p className="muted">{props.schema.description}</p>}
      <div className="labelled">
        <label htmlFor={`${id}__by`}>How the {picker.label} is known</label>
        <select
          id={`${id}__by`}
          value={by}
          disabled={disabled}
          onChange={(e) => {
            const way = e.target.value;
            const field = way === "entity" ? "id" : way === "reference" ? "reference" : way === "reference_from_variable" ? "variable" : null;
            set(way === "" ? null : field ? { by: way, [field]: "" } : { by: way });
          }}
        >
          <option value="">{picker.nullable ? "None" : "Choose"}</option>
          {picker.ways.map((w) => (
            <option key={w.by} value={w.by}>
              {WAYS[w.by] ?? w.description ?? w.by}
            </option>
          ))}
        </select>
      </div>
      {by === "entity" &&
        (objects ? (
          <div className="labelled">
            <label htmlFor={`${id}__id`}>The {picker.label}</label>
            <select id={`${id}__id`} value={value?.id ?? ""} disabled={disabled} required onChange={(e) => set({ by, id: e.target.value })}>
              <option value="">Choose</option>
              {objects.map((o) => (
                <option key={o.id} value={o.id}>
                  {o.name} ({o.reference})
                </option>
              ))}
            </select>
          </div>
        ) : (
          <div className="labelled">
            <label htmlFor={`${id}__id`}>Its id</label>
            <input id={`${id}__id`} value={value?.id ?? ""} disabled={disabled} required onChange={(e) => set({ by, id: e.target.value })} />
          </div>
        ))}
      {by === "reference" && (
        <Suggested
          id={`${id}__reference`}
          label="Its reference"
          value={value?.reference ?? ""}
          disabled={disabled}
          options={(objects ?? []).map((o) => ({ value: o.reference, label: o.name }))}
          onChange={(reference) => set({ by, reference })}
        />
      )}
      {by === "reference_from_variable" && (
        <Suggested
          id={`${id}__variable`}
          label="The variable holding its reference"
          value={value?.variable ?? ""}
          disabled={disabled}
          options={variables.map((c) => ({ value: c.path, label: c.description }))}
          onChange={(variable) => set({ by, variable })}
        />
      )}
      {(props.rawErrors ?? []).map((e, i) => (
        <p key={i} className="error">
          {e}
        </p>
      ))}
    </fieldset>
  );
}

/** A "column = value" pair of a database action: RJSF's own object field, its value told
 * which column it is for (a LIST column's value offers the proposals). */
function ColumnItemField(props: FieldProps) {
  const columns = useDatabaseColumns();
  const name = (props.formData as { field?: string } | undefined)?.field ?? "";
  const column = columns.find((c) => c.name === name) ?? columns.find((c) => c.name.toLowerCase() === name.toLowerCase()) ?? null;
  const ObjectField = props.registry.fields.ObjectField;
  return (
    <ItemColumn.Provider value={column}>
      <ObjectField {...props} />
    </ItemColumn.Provider>
  );
}

export const fields: RegistryFieldsType = { objectPicker: ObjectPickerField, columnItem: ColumnItemField };
