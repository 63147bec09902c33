/** The app's pages. `ready: false` pages are planned and shown disabled until they exist. */
export interface NavItem {
  href: string;
  label: string;
  audience: string;
  ready: boolean;
}

export const NAV: NavItem[] = [
  { href: "/", label: "Overview", audience: "managers", ready: true },
  { href: "/images", label: "Images", audience: "security", ready: false },
  { href: "/clusters", label: "Clusters & namespaces", audience: "security", ready: false },
  { href: "/policies", label: "Policies & authorities", audience: "security", ready: false },
  { href: "/keys", label: "Keys & reminders", audience: "security", ready: false },
  { href: "/rejections", label: "Admission rejections", audience: "security", ready: false },
  { href: "/audit", label: "Audit log", audience: "auditors", ready: false },
  { href: "/scans", label: "Scans", audience: "operators", ready: false },
  { href: "/exports", label: "Exports", audience: "auditors", ready: false },
];
