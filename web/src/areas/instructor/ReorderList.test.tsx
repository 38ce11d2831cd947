import { fireEvent, render, screen, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { moved, ReorderList } from "./ReorderList";

const lessons = [
  { id: "a", title: "Alpha" },
  { id: "b", title: "Beta" },
  { id: "c", title: "Gamma" },
];

function renderList(onReorder = vi.fn(), disabled = false) {
  render(
    <ReorderList items={lessons} label="Lessons" keyOf={(item) => item.id} nameOf={(item) => item.title} render={(item) => <span>{item.title}</span>} onReorder={onReorder} disabled={disabled} />,
  );
  return onReorder;
}

/** A DataTransfer stand-in: jsdom has none. */
const dataTransfer = () => ({ data: {} as Record<string, string>, effectAllowed: "", setData(type: string, value: string) { this.data[type] = value; } });

describe("moved", () => {
  it("moves one item and keeps the rest in order", () => {
    expect(moved(["a", "b", "c", "d"], 0, 2)).toEqual(["b", "c", "a", "d"]);
    expect(moved(["a", "b", "c"], 2, 0)).toEqual(["c", "a", "b"]);
  });
  it("returns the same list for a move to nowhere", () => {
    const items = ["a", "b"];
    expect(moved(items, 0, -1)).toBe(items);
    expect(moved(items, 1, 2)).toBe(items);
    expect(moved(items, 1, 1)).toBe(items);
  });
});

describe("the reorder list", () => {
  it("moves an item with its keyboard buttons", async () => {
    const onReorder = renderList();
    await userEvent.click(screen.getByRole("button", { name: "Move Beta up" }));
    expect(onReorder).toHaveBeenLastCalledWith([lessons[1], lessons[0], lessons[2]], { item: lessons[1], to: 0 });
    screen.getByRole("button", { name: "Move Beta down" }).focus();
    await userEvent.keyboard("{Enter}");
    expect(onReorder).toHaveBeenLastCalledWith([lessons[0], lessons[2], lessons[1]], { item: lessons[1], to: 2 });
  });

  it("offers no move past either end", () => {
    renderList();
    expect(screen.getByRole("button", { name: "Move Alpha up" })).toBeDisabled();
    expect(screen.getByRole("button", { name: "Move Gamma down" })).toBeDisabled();
    expect(screen.getByRole("button", { name: "Move Alpha down" })).toBeEnabled();
  });

  it("moves an item dropped on another with native drag and drop", () => {
    const onReorder = renderList();
    const items = within(screen.getByRole("list", { name: "Lessons" })).getAllByRole("listitem");
    expect(items[0]).toHaveAttribute("draggable", "true");
    const transfer = dataTransfer();
    fireEvent.dragStart(items[2], { dataTransfer: transfer });
    expect(transfer.data["text/plain"]).toBe("2");
    fireEvent.dragOver(items[0], { dataTransfer: transfer });
    fireEvent.drop(items[0], { dataTransfer: transfer });
    expect(onReorder).toHaveBeenCalledWith([lessons[2], lessons[0], lessons[1]], { item: lessons[2], to: 0 });
  });

  it("ignores a drop on the item's own place", () => {
    const onReorder = renderList();
    const items = screen.getAllByRole("listitem");
    fireEvent.dragStart(items[1], { dataTransfer: dataTransfer() });
    fireEvent.drop(items[1], { dataTransfer: dataTransfer() });
    expect(onReorder).not.toHaveBeenCalled();
  });

  it("is inert while disabled", () => {
    renderList(vi.fn(), true);
    expect(screen.getAllByRole("listitem")[0]).toHaveAttribute("draggable", "false");
    expect(screen.getByRole("button", { name: "Move Beta up" })).toBeDisabled();
  });
});
