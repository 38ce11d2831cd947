import { useState, type ReactNode } from "react";

/** `items` with the one at `from` moved to `to`. */
export function moved<T>(items: T[], from: number, to: number): T[] {
  if (from === to || to < 0 || to >= items.length) return items;
  const next = [...items];
  const [item] = next.splice(from, 1);
  next.splice(to, 0, item);
  return next;
}

interface ReorderListProps<T> {
  items: T[];
  label: string;
  keyOf: (item: T) => string;
  nameOf: (item: T) => string;
  render: (item: T) => ReactNode;
  /** The new order, and which item moved where (its new index). */
  onReorder: (items: T[], move: { item: T; to: number }) => void;
  disabled?: boolean;
}

/** A list reordered by dragging (native HTML5 drag and drop) or with the move up / move down
 * buttons, which keyboard and screen-reader users reach like any other button. */
export function ReorderList<T>({ items, label, keyOf, nameOf, render, onReorder, disabled = false }: ReorderListProps<T>) {
  const [dragged, setDragged] = useState<number | null>(null);
  const [over, setOver] = useState<number | null>(null);
  const move = (from: number, to: number) => {
    const next = moved(items, from, to);
    if (next !== items) onReorder(next, { item: items[from], to });
  };
  return (
    <ol aria-label={label} className="space-y-2">
      {items.map((item, index) => (
        <li
          key={keyOf(item)}
          draggable={!disabled}
          data-testid="reorder-item"
          onDragStart={(event) => {
            event.dataTransfer.effectAllowed = "move";
            event.dataTransfer.setData("text/plain", String(index));
            setDragged(index);
          }}
          onDragOver={(event) => {
            if (dragged === null) return;
            event.preventDefault();
            setOver(index);
          }}
          onDragLeave={() => setOver((current) => (current === index ? null : current))}
          onDrop={(event) => {
            event.preventDefault();
            if (dragged !== null) move(dragged, index);
            setDragged(null);
            setOver(null);
          }}
          onDragEnd={() => {
            setDragged(null);
            setOver(null);
          }}
          className={`flex flex-wrap items-center gap-2 rounded-md border bg-white p-2 ${over === index ? "border-indigo-600 border-dashed" : "border-slate-200"} ${dragged === index ? "opacity-50" : ""}`}
        >
          <span aria-hidden="true" className="cursor-grab select-none px-1 text-slate-500" title="Drag to reorder">
            ⠿
          </span>
          <div className="min-w-0 flex-1">{render(item)}</div>
          <div className="flex gap-1">
            <button type="button" className="btn-secondary" disabled={disabled || index === 0} onClick={() => move(index, index - 1)} aria-label={`Move ${nameOf(item)} up`}>
              <span aria-hidden="true">↑</span>
            </button>
            <button
              type="button"
              className="btn-secondary"
              disabled={disabled || index === items.length - 1}
              onClick={() => move(index, index + 1)}
              aria-label={`Move ${nameOf(item)} down`}
            >
              <span aria-hidden="true">↓</span>
            </button>
          </div>
        </li>
      ))}
    </ol>
  );
}
