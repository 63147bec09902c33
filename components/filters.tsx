"use client";

import { usePathname } from "next/navigation";
import { useState, type FormEvent, type ReactNode } from "react";
import { inputClass } from "@/components/ui";
import { toSearch } from "@/lib/ui/fetch-json";

/**
 * The one filter bar of the list pages (images, rejections, audit, exports): a search form whose
 * dropdowns apply at once and whose text search applies on submit. The filters live in the address
 * (`useUrlFilters`), so a filtered view can be linked to (drill-down tiles and counts), shared and
 * reloaded.
 */

export type FilterOption = string | { value: string; label: string };

export function FilterBar({ label, onSubmit, children }: { label: string; onSubmit?: () => void; children: ReactNode }) {
  return (
    <form
      role="search"
      aria-label={label}
      className="flex flex-wrap items-end gap-3"
      onSubmit={(e: FormEvent) => {
        e.preventDefault();
        onSubmit?.();
      }}
    >
      {children}
      {/* Enter in any text filter applies the filters, even where the bar shows no button */}
      <button type="submit" className="sr-only">
        Apply filters
      </button>
    </form>
  );
}

export function FilterSelect({
  label,
  name,
  value,
  options,
  onChange,
  allLabel = "All",
}: {
  label: string;
  name: string;
  value: string | undefined;
  options: readonly FilterOption[];
  onChange: (v: string | undefined) => void;
  /** The label of the empty choice; null when a value is required. */
  allLabel?: string | null;
}) {
  return (
    <label className="flex min-w-0 flex-col text-xs text-slate-700 dark:text-slate-300">
      {label}
      <select name={name} className={`${inputClass} mt-1 max-w-56`} value={value ?? ""} onChange={(e) => onChange(e.target.value || undefined)}>
        {allLabel !== null && <option value="">{allLabel}</option>}
        {options.map((o) => {
          const opt = typeof o === "string" ? { value: o, label: o } : o;
          return (
            <option key={opt.value} value={opt.value}>
              {opt.label}
            </option>
          );
        })}
      </select>
    </label>
  );
}

export function FilterSearch({ label = "Search", name = "q", value, onChange, placeholder }: { label?: string; name?: string; value: string; onChange: (v: string) => void; placeholder?: string }) {
  return (
    <label className="flex min-w-0 flex-col text-xs text-slate-700 dark:text-slate-300">
      {label}
      <input name={name} type="search" value={value} onChange={(e) => onChange(e.target.value)} placeholder={placeholder} className={`${inputClass} mt-1 w-56 max-w-full`} />
    </label>
  );
}

/** A select's options with the value in the address among them (a policy archived since, a name no longer listed). */
export function withCurrent(options: readonly string[], current: string | undefined): readonly string[] {
  return current && !options.includes(current) ? [...options, current] : options;
}

/**
 * Filter state that follows the address: `set` merges a patch (back to page 1 unless the patch
 * names a page) and replaces the URL's query without a server round trip. Values equal to
 * `defaults` are left out of the URL.
 */
export function useUrlFilters<F extends Record<string, string | number | undefined>>(initial: F, defaults: Partial<F> = {}): [F, (patch: Partial<F>) => void] {
  const pathname = usePathname();
  const [filters, setFilters] = useState<F>(initial);
  const set = (patch: Partial<F>) => {
    const next = { ...filters, ...("page" in filters && !("page" in patch) ? { page: 1 } : {}), ...patch } as F;
    setFilters(next);
    const inUrl = Object.fromEntries(Object.entries(next).map(([k, v]) => [k, defaults[k] !== undefined && defaults[k] === v ? undefined : v]));
    window.history.replaceState(null, "", `${pathname}${toSearch(inUrl)}`);
  };
  return [filters, set];
}

/**
 * A day filter typed as YYYY-MM-DD (the dashboard's one date format, whatever the browser's locale):
 * applied on Enter or when the field is left, once it is a whole day; emptied, it clears the filter.
 */
export function FilterDate({ label, name, value, onChange }: { label: string; name: string; value: string | undefined; onChange: (v: string | undefined) => void }) {
  const [text, setText] = useState(value ?? "");
  const apply = () => {
    const t = text.trim();
    if (t === "") onChange(undefined);
    else if (/^\d{4}-\d{2}-\d{2}$/.test(t) && !Number.isNaN(Date.parse(`${t}T00:00:00Z`))) onChange(t);
  };
  return (
    <label className="flex min-w-0 flex-col text-xs text-slate-700 dark:text-slate-300">
      {label}
      <input
        name={name}
        type="text"
        inputMode="numeric"
        placeholder="YYYY-MM-DD"
        pattern="\d{4}-\d{2}-\d{2}"
        autoComplete="off"
        value={text}
        onChange={(e) => setText(e.target.value)}
        onBlur={apply}
        onKeyDown={(e) => {
          if (e.key === "Enter") apply();
        }}
        className={`${inputClass} mt-1 w-32`}
      />
    </label>
  );
}
