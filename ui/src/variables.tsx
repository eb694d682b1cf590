/** An interaction's variables, one row each (values as JSON). */
export function Variables(props: { values: unknown; label?: string }) {
  const rows = Object.entries((props.values ?? {}) as Record<string, unknown>);
  if (rows.length === 0) return null;
  return (
    <table className="list variables" aria-label={props.label ?? "Variables"}>
      <tbody>
        {rows.map(([k, v]) => (
          <tr key={k}>
            <th scope="row">{k}</th>
            <td>
              <code>{JSON.stringify(v)}</code>
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}
