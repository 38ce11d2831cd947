import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MemoryRouter } from "react-router";
import { beforeEach, describe, expect, it, vi } from "vitest";
import type { CourseDetail } from "../../api/types";
import { useAuth } from "../../stores/auth";
import { fakeServer, problem } from "../../test/fakeServer";
import { CourseContentPage } from "./CourseContentPage";
import { CourseContext } from "./CourseWorkspace";

const lesson = (id: string, title: string, order: number, module_id: string | null = null) => ({ id, title, order, module_id, type: "text", duration_minutes: 0, is_preview: false, is_completed: false });
const module = (id: string, title: string, order: number) => ({ id, title, order, course_id: "course-1", description: null, created_at: "", updated_at: "" });
const course = {
  id: "course-1",
  slug: "planets",
  title: "Planets",
  modules: [module("m1", "Week 1", 0), module("m2", "Week 2", 1)],
  lessons: [lesson("l1", "Welcome", 0, "m1"), lesson("l2", "Orbits", 1, "m1"), lesson("l3", "Moons", 2, "m2")],
} as unknown as CourseDetail;

function renderPage(reload = vi.fn()) {
  render(
    <MemoryRouter>
      <CourseContext.Provider value={{ course, reload }}>
        <CourseContentPage />
      </CourseContext.Provider>
    </MemoryRouter>,
  );
  return reload;
}

/** Types by pasting: one input event instead of one per character, fast on a busy machine. */
async function fill(element: HTMLElement, text: string) {
  await userEvent.clear(element);
  await userEvent.click(element);
  await userEvent.paste(text);
}

describe("the course editor's outline", () => {
  beforeEach(() => useAuth.getState().setTokens({ access_token: "a", refresh_token: "r" }));

  it("lists modules and lessons, each lesson with its type and module", () => {
    fakeServer(() => ({ status: 200, data: {} }));
    renderPage();
    const lessons = screen.getByRole("list", { name: "Lessons" });
    expect(within(lessons).getAllByRole("link").map((link) => link.textContent)).toEqual(["Welcome", "Orbits", "Moons"]);
    expect(within(lessons).getByRole("link", { name: "Moons" })).toHaveAttribute("href", "/teach/courses/course-1/lessons/l3");
    expect(within(lessons).getByText("Reading · Week 2")).toBeInTheDocument();
  });

  it("sends the whole new lesson order, and a module's new place", async () => {
    const calls = fakeServer(() => ({ status: 200, data: {} }));
    const reload = renderPage();
    await userEvent.click(screen.getByRole("button", { name: "Move Moons up" }));
    await waitFor(() => expect(reload).toHaveBeenCalled());
    expect(calls[0]).toMatchObject({ method: "PUT", url: "/courses/course-1/lessons/order", body: { lesson_ids: ["l1", "l3", "l2"] } });
    await userEvent.click(screen.getByRole("button", { name: "Move Week 2 up" }));
    await waitFor(() => expect(calls).toHaveLength(2));
    expect(calls[1]).toMatchObject({ method: "PATCH", url: "/modules/m2", body: { order: 0 } });
  });

  it("adds modules and lessons", async () => {
    const calls = fakeServer(() => ({ status: 201, data: {} }));
    renderPage();
    await fill(screen.getByLabelText("New module title"), "Week 3");
    await userEvent.click(screen.getByRole("button", { name: "Add module" }));
    await waitFor(() => expect(screen.getByLabelText("New module title")).toHaveValue(""));
    await fill(screen.getByLabelText("New lesson title"), "Quiz time");
    await userEvent.selectOptions(screen.getByLabelText("Lesson type"), "quiz");
    await userEvent.selectOptions(screen.getByLabelText("In module"), "m2");
    await userEvent.click(screen.getByRole("button", { name: "Add lesson" }));
    await waitFor(() => expect(calls).toHaveLength(2));
    expect(calls[0]).toMatchObject({ method: "POST", url: "/courses/course-1/modules", body: { title: "Week 3" } });
    expect(calls[1]).toMatchObject({ method: "POST", url: "/courses/course-1/lessons", body: { title: "Quiz time", type: "quiz", module_id: "m2" } });
  });

  it("deletes a lesson and restores it", async () => {
    const calls = fakeServer(() => ({ status: 204 }));
    renderPage();
    await userEvent.click(screen.getByRole("button", { name: "Delete lesson Orbits" }));
    const restore = await screen.findByRole("button", { name: "Restore Orbits" });
    expect(calls[0]).toMatchObject({ method: "DELETE", url: "/lessons/l2" });
    await userEvent.click(restore);
    await waitFor(() => expect(screen.queryByRole("button", { name: "Restore Orbits" })).not.toBeInTheDocument());
    expect(calls[1]).toMatchObject({ method: "POST", url: "/lessons/l2/restore" });
  });

  it("keeps what was typed and shows the problem when the API refuses", async () => {
    fakeServer(() => problem(403, "not_course_staff", "Not course staff", "Only the course's staff change it."));
    renderPage();
    await fill(screen.getByLabelText("New module title"), "Week 3");
    await userEvent.click(screen.getByRole("button", { name: "Add module" }));
    expect(await screen.findByRole("alert")).toHaveTextContent("Only the course's staff change it.");
    expect(screen.getByLabelText("New module title")).toHaveValue("Week 3");
  });
});
