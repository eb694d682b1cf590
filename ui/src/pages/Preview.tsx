import { Alert } from "../alert";
import { useEffect, useRef, useState } from "react";
import { api, problemText, type Schemas } from "../api";
import { linesOf, pathOf } from "../chat";
import { Variables } from "../variables";

type Interaction = Schemas["InteractionDto"];
type Outcome = Schemas["OutcomeDto"];

/** Every outcome a preview's distribution may be given (the branches of the same keys follow). */
const OUTCOMES = {
  processed: true,
  unprocessed: true,
  ok: true,
  no_response: true,
  error: true,
  reference_not_found: true,
  overflow_no_user: true,
  overflow_max_estimated_wait: true,
  overflow_max_waiting: true,
  dissuasion_max_wait: true,
  dissuasion_by_user: true,
} satisfies Record<Outcome, true>;

export function isOutcome(key: string): key is Outcome {
  return key in OUTCOMES;
}

/** The action whose distribution waits for its outcome, if the last effect asked is one. */
function pendingDistribution(i: Interaction): string | null {
  const events = (i.events as unknown as { event: { type?: string; action?: string; request?: { effect?: string } } }[]).map((e) => e.event ?? {});
  const last = events.filter((e) => e.type === "effect_requested" || e.type === "effect_result").at(-1);
  return i.status !== "closed" && last?.type === "effect_requested" && last.request?.effect === "distribute" ? (last.action ?? null) : null;
}

/** Converse with a version beside its tree: the path it takes goes to `onPath`. */
export function Preview(props: {
  versionId: string;
  onPath: (p: { actions: Set<string>; branches: Set<string> } | null) => void;
  /** The outcomes an action's distribution may take: its branches that are outcomes. */
  outcomesOf: (action: string) => { key: Outcome; label: string }[];
}) {
  const [id, setId] = useState<string | null>(null);
  const [detail, setDetail] = useState<Interaction | null>(null);
  const [text, setText] = useState("");
  const [error, setError] = useState("");
  const endRef = useRef<HTMLDivElement>(null);
  const { onPath } = props;
  // an answer arriving after the pane closed draws nothing
  const mounted = useRef(true);
  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);
  const load = async (interaction: string) => {
    const { data, error } = await api.GET("/interactions/{id}", { params: { path: { id: interaction }, query: { events_limit: 1000 } } });
    if (!mounted.current) return;
    if (data) {
      setDetail(data);
      onPath(pathOf(data));
    } else setError(problemText(error));
  };
  useEffect(() => () => onPath(null), [onPath]);
  useEffect(() => {
    endRef.current?.scrollIntoView({ block: "end" });
  }, [detail]);
  const start = async () => {
    setError("");
    const { data, error } = await api.POST("/versions/{id}/preview", { params: { path: { id: props.versionId } }, body: {} });
    if (!data) return setError(problemText(error));
    setId(data.interaction_id);
    await load(data.interaction_id);
  };
  const send = async (body: { text: string; choice?: number }) => {
    if (!id) return;
    setError("");
    const { error, response } = await api.POST("/interactions/{id}/messages", { params: { path: { id } }, body });
    if (!response.ok) setError(problemText(error));
    await load(id);
  };
  const decide = async (outcome: Outcome) => {
    if (!id) return;
    setError("");
    const { error, response } = await api.POST("/interactions/{id}/outcome", { params: { path: { id } }, body: { outcome } });
    if (!response.ok) setError(problemText(error));
    await load(id);
  };
  const lines = detail ? linesOf(detail) : [];
  const distributing = detail ? pendingDistribution(detail) : null;
  const last = lines[lines.length - 1];
  return (
    <section className="panel preview" aria-labelledby="preview-title">
      <h2 id="preview-title">Preview</h2>
      {!id ? (
        <button type="button" className="primary" onClick={start}>
          Start a conversation
        </button>
      ) : (
        <>
          <p className="muted">
            {detail?.status === "closed" ? "The conversation is over." : "The path it takes is drawn on the tree."}{" "}
            <button type="button" onClick={start}>
              Start again
            </button>
          </p>
          <ol className="lines" aria-label="Preview conversation">
            {lines.map((l) => (
              <li key={l.key} className={`line ${l.from}`}>
                <span className="visually-hidden">{l.from === "customer" ? "You: " : "Routing: "}</span>
                {l.text}
              </li>
            ))}
          </ol>
          <div ref={endRef} />
          {distributing && (
            <div className="outcomes" role="group" aria-label="Outcome of the distribution">
              <p>The routing distributes the conversation; no agent is reached from a preview. What happens?</p>
              <div className="buttons">
                {props.outcomesOf(distributing).map((o) => (
                  <button key={o.key} type="button" onClick={() => decide(o.key)}>
                    {o.label}
                  </button>
                ))}
              </div>
            </div>
          )}
          {last?.from === "us" && last.choices && detail?.status !== "closed" && (
            <div className="buttons" aria-label="Choices">
              {last.choices.map((c, i) => (
                <button key={c} type="button" onClick={() => send({ text: c, choice: i + 1 })}>
                  {c}
                </button>
              ))}
            </div>
          )}
          {detail?.status !== "closed" && (
            <form
              className="answer"
              onSubmit={async (e) => {
                e.preventDefault();
                if (!text.trim()) return;
                await send({ text });
                setText("");
              }}
            >
              <label className="grow">
                Your message
                <input value={text} onChange={(e) => setText(e.target.value)} />
              </label>
              <button type="submit">Send</button>
            </form>
          )}
          <Variables values={detail?.variables} />
        </>
      )}
      <Alert text={error} />
    </section>
  );
}
