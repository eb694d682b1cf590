import { Alert } from "../alert";
import { useEffect, useRef, useState } from "react";
import { api, problemText, type Schemas } from "../api";
import { linesOf, pathOf } from "../chat";
import { Variables } from "../variables";

type Interaction = Schemas["InteractionDto"];

/** Converse with a version beside its tree: the path it takes goes to `onPath`. */
export function Preview(props: { versionId: string; onPath: (p: { actions: Set<string>; branches: Set<string> } | null) => void }) {
  const [id, setId] = useState<string | null>(null);
  const [detail, setDetail] = useState<Interaction | null>(null);
  const [text, setText] = useState("");
  const [error, setError] = useState("");
  const endRef = useRef<HTMLDivElement>(null);
  const { onPath } = props;
  const load = async (interaction: string) => {
    const { data, error } = await api.GET("/interactions/{id}", { params: { path: { id: interaction }, query: { events_limit: 1000 } } });
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
  const lines = detail ? linesOf(detail) : [];
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
