import { useState, type FormEvent } from "react";
import { Link, useSearchParams } from "react-router";
import { api } from "../../api/client";
import type { Course, Page } from "../../api/types";
import { Pagination } from "../../components/Pagination";
import { Empty, Loading, PageTitle, ProblemAlert } from "../../components/states";
import { useApi } from "../../lib/useApi";

const PAGE_SIZE = 12;
const LEVELS = ["beginner", "intermediate", "advanced"];
const SORTS: Record<string, string> = { newest: "Newest", popular: "Most popular", title: "Title (A–Z)" };

export function price(course: Pick<Course, "price_cents" | "currency">): string {
  if (course.price_cents === 0) return "Free";
  return new Intl.NumberFormat(undefined, { style: "currency", currency: course.currency }).format(course.price_cents / 100);
}

export function CatalogPage() {
  const [params, setParams] = useSearchParams();
  const [search, setSearch] = useState(params.get("q") ?? "");
  const offset = Number(params.get("offset") ?? 0) || 0;
  const query = Object.fromEntries([...params.entries()].filter(([, value]) => value !== ""));
  const courses = useApi(
    () => api.get<Page<Course>>("/courses", { params: { ...query, limit: PAGE_SIZE, offset } }).then((r) => r.data),
    params.toString(),
  );

  const update = (changes: Record<string, string>) => {
    const next = new URLSearchParams(params);
    for (const [key, value] of Object.entries(changes)) {
      if (value) next.set(key, value);
      else next.delete(key);
    }
    if (!("offset" in changes)) next.delete("offset");
    setParams(next);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    update({ q: search.trim() });
  };

  return (
    <div>
      <PageTitle>Course catalog</PageTitle>
      <form role="search" onSubmit={submit} className="mb-4 grid gap-3 sm:grid-cols-[1fr_auto]">
        <div>
          <label htmlFor="catalog-search" className="sr-only">
            Search courses
          </label>
          <input id="catalog-search" type="search" className="input" placeholder="Search courses" value={search} onChange={(e) => setSearch(e.target.value)} />
        </div>
        <button type="submit" className="btn">
          Search
        </button>
      </form>
      <div className="mb-6 flex flex-wrap gap-4 text-sm">
        <div>
          <label htmlFor="filter-level" className="mr-2 font-medium">Level</label>
          <select id="filter-level" className="rounded border border-slate-400 bg-white px-2 py-1" value={params.get("level") ?? ""} onChange={(e) => update({ level: e.target.value })}>
            <option value="">Any</option>
            {LEVELS.map((level) => (
              <option key={level} value={level}>{level[0].toUpperCase() + level.slice(1)}</option>
            ))}
          </select>
        </div>
        <div>
          <label htmlFor="filter-category" className="mr-2 font-medium">Category</label>
          <input id="filter-category" className="rounded border border-slate-400 bg-white px-2 py-1" defaultValue={params.get("category") ?? ""} onBlur={(e) => update({ category: e.target.value.trim() })} />
        </div>
        <div className="flex items-center gap-2">
          <input id="filter-free" type="checkbox" checked={params.get("free") === "true"} onChange={(e) => update({ free: e.target.checked ? "true" : "" })} />
          <label htmlFor="filter-free" className="font-medium">Free only</label>
        </div>
        <div>
          <label htmlFor="sort" className="mr-2 font-medium">Sort by</label>
          <select id="sort" className="rounded border border-slate-400 bg-white px-2 py-1" value={params.get("sort") ?? "newest"} onChange={(e) => update({ sort: e.target.value })}>
            {Object.entries(SORTS).map(([value, label]) => (
              <option key={value} value={value}>{label}</option>
            ))}
          </select>
        </div>
      </div>
      <ProblemAlert problem={courses.error} onRetry={courses.reload} />
      {courses.loading && !courses.data ? (
        <Loading label="Loading courses…" />
      ) : courses.data && courses.data.items.length === 0 ? (
        <Empty>No course matches. Try other words or fewer filters.</Empty>
      ) : (
        courses.data && (
          <>
            <p className="mb-3 text-sm text-slate-600" aria-live="polite">
              {courses.data.total} {courses.data.total === 1 ? "course" : "courses"}
            </p>
            <ul className="grid gap-4 sm:grid-cols-2 lg:grid-cols-3">
              {courses.data.items.map((course) => (
                <li key={course.id} className="card flex flex-col">
                  <h2 className="text-lg font-semibold">
                    <Link className="link" to={`/courses/${course.slug}`}>{course.title}</Link>
                  </h2>
                  {course.subtitle && <p className="mt-1 text-sm text-slate-700">{course.subtitle}</p>}
                  <p className="mt-auto pt-3 text-xs text-slate-600">
                    {course.level} · {course.lesson_count} lessons · {price(course)}
                    {course.is_enrolled && " · Enrolled"}
                  </p>
                </li>
              ))}
            </ul>
            <Pagination total={courses.data.total} limit={PAGE_SIZE} offset={offset} onChange={(next) => update({ offset: String(next) })} />
          </>
        )
      )}
    </div>
  );
}
