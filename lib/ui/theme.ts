/** Where the chosen theme is kept: localStorage, mirrored into a cookie so the server can read it too. */
export const THEME_KEY = "signet-theme";
export type ThemeChoice = "light" | "dark" | "system";

/**
 * Runs before the first paint (inline, with the CSP nonce): applies the stored choice, or the
 * system's prefers-color-scheme, as the `dark` class on <html>, so no page flashes the wrong theme.
 */
export const THEME_BOOT_SCRIPT = `(function(){try{var k=${JSON.stringify(THEME_KEY)};var c=localStorage.getItem(k)||"system";var d=c==="dark"||(c==="system"&&window.matchMedia("(prefers-color-scheme: dark)").matches);var e=document.documentElement;e.classList.toggle("dark",d);e.classList.toggle("light",!d);e.dataset.theme=c;}catch(_){}})();`;
