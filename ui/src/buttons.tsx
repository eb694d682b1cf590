import { problemText } from "./api";

/** A Delete button that asks first, then calls `remove`: `onDeleted` once the server agreed,
 * else `onError` with the server's reason (what blocks it). */
export function DeleteButton(props: {
  question: string;
  remove: () => Promise<{ error?: unknown; response: Response }>;
  onDeleted: () => void;
  onError: (message: string) => void;
}) {
  return (
    <button
      type="button"
      className="danger"
      onClick={async () => {
        if (!confirm(props.question)) return;
        props.onError("");
        const { error, response } = await props.remove();
        if (response.ok) props.onDeleted();
        else props.onError(problemText(error));
      }}
    >
      Delete
    </button>
  );
}
