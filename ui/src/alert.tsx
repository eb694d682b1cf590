/** A problem the server answered (or a failure to reach it), read out when it appears. */
export function Alert(props: { text: string }) {
  if (!props.text) return null;
  return (
    <p role="alert" className="error">
      {props.text}
    </p>
  );
}
