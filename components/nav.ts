/** The app's pages. `ready: false` pages are planned and shown disabled until they exist. */
export interface NavItem {
  href: string;
  label: string;
  audience: string;
  ready: boolean;
}

export const NAV: NavItem[] = [
  { href: "/", label: "Overview", audience: "managers", ready: true },
  { href: "/images", label: "Images", audience: "security", ready: true },
  { href: "/clusters", label: "Clusters & namespaces", audience: "security", ready: true },
  { href: "/policies", label: "Policies & authorities", audience: "security", ready: true },
  { href: "/keys", label: "Keys", audience: "security", ready: true },
  { href: "/trust-roots", label: "Trusted roots", audience: "security", ready: true },
  { href: "/reminders", label: "Reminders", audience: "security", ready: true },
  { href: "/rejections", label: "Admission rejections", audience: "security", ready: true },
  { href: "/audit", label: "Audit log", audience: "auditors", ready: true },
  { href: "/scans", label: "Scans", audience: "operators", ready: true },
  { href: "/exports", label: "Exports", audience: "auditors", ready: true },
];
