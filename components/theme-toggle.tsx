"use client";

import { useEffect, useState } from "react";
import { THEME_KEY, type ThemeChoice } from "@/lib/ui/theme";
import { useHydrated } from "@/lib/ui/use-hydrated";

function apply(choice: ThemeChoice) {
  const dark = choice === "dark" || (choice === "system" && window.matchMedia("(prefers-color-scheme: dark)").matches);
  const el = document.documentElement;
  el.classList.toggle("dark", dark);
  el.classList.toggle("light", !dark);
  el.dataset.theme = choice;
}

const NEXT: Record<ThemeChoice, ThemeChoice> = { system: "light", light: "dark", dark: "system" };
const LABEL: Record<ThemeChoice, string> = { system: "System theme", light: "Light theme", dark: "Dark theme" };

/** Cycles system → light → dark; the choice persists in localStorage (and a cookie). */
export function ThemeToggle() {
  const [choice, setChoice] = useState<ThemeChoice>("system");
  const hydrated = useHydrated();
  useEffect(() => {
    const stored = localStorage.getItem(THEME_KEY);
    // the stored choice lives in the browser only: read it once on mount
    if (stored === "light" || stored === "dark") setChoice(stored);
    const mq = window.matchMedia("(prefers-color-scheme: dark)");
    const onChange = () => {
      if ((localStorage.getItem(THEME_KEY) ?? "system") === "system") apply("system");
    };
    mq.addEventListener("change", onChange);
    return () => mq.removeEventListener("change", onChange);
  }, []);
  const cycle = () => {
    const next = NEXT[choice];
    setChoice(next);
    if (next === "system") localStorage.removeItem(THEME_KEY);
    else localStorage.setItem(THEME_KEY, next);
    document.cookie = `${THEME_KEY}=${next}; path=/; max-age=31536000; samesite=lax`;
    apply(next);
  };
  return (
    <button
      type="button"
      onClick={cycle}
      data-testid="theme-toggle"
      data-hydrated={hydrated}
      aria-label={`${LABEL[choice]} (switch to ${LABEL[NEXT[choice]].toLowerCase()})`}
      title={LABEL[choice]}
      className="rounded border border-slate-300 px-2 py-1 text-xs hover:bg-slate-100 focus:outline-none focus-visible:ring-2 focus-visible:ring-teal-600 dark:border-slate-700 dark:hover:bg-slate-800"
    >
      {choice === "dark" ? "☾ Dark" : choice === "light" ? "☀ Light" : "◐ System"}
    </button>
  );
}
