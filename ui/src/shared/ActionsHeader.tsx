/** The header of a table's actions column: named for screen readers, blank on screen. */
export function ActionsHeader() {
  return (
    <th>
      <span className="visually-hidden">Actions</span>
    </th>
  );
}
