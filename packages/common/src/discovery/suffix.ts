/**
 * A small, hand-written approximation of the Public Suffix List: enough to find the label a person
 * registered ("example" in "www.example.co.uk", "my-site" in "my-site.pages.dev"). The classifier
 * only needs the registered label and the labels below it; a wrong guess on a rare suffix costs a
 * little accuracy, never correctness of blocking (blocking does not use this file).
 */

/** Second-level labels that ccTLD registries use as public suffixes (co.uk, com.br, ac.jp, gob.mx...). */
const CC_SECOND_LEVEL: ReadonlySet<string> = new Set([
  "ac",
  "ad",
  "biz",
  "co",
  "com",
  "ed",
  "edu",
  "firm",
  "gen",
  "go",
  "gob",
  "gouv",
  "gov",
  "govt",
  "gr",
  "ind",
  "info",
  "lg",
  "ltd",
  "me",
  "med",
  "mil",
  "ne",
  "net",
  "nic",
  "nom",
  "or",
  "org",
  "plc",
  "sch",
  "web",
]);

/** Second-level labels that mark government, military and academic institutions. */
const INSTITUTIONAL_SECOND_LEVEL: ReadonlySet<string> = new Set([
  "ac",
  "edu",
  "gob",
  "gouv",
  "gov",
  "govt",
  "mil",
  "sch",
]);
const INSTITUTIONAL_TLDS: ReadonlySet<string> = new Set(["edu", "gov", "mil", "int"]);

/**
 * Suffixes under which anyone can get a name: hosting platforms and CentralNic-style "xx.com".
 * The label right below one of these is what its owner chose.
 */
const SHARED_SUFFIXES: ReadonlySet<string> = new Set([
  "000webhostapp.com",
  "amplifyapp.com",
  "appspot.com",
  "azurewebsites.net",
  "blogspot.com",
  "br.com",
  "carrd.co",
  "cloudfront.net",
  "cn.com",
  "de.com",
  "eu.com",
  "firebaseapp.com",
  "fly.dev",
  "gb.net",
  "github.io",
  "gitlab.io",
  "glitch.me",
  "herokuapp.com",
  "jpn.com",
  "myshopify.com",
  "netlify.app",
  "ngrok.io",
  "onrender.com",
  "pages.dev",
  "r2.dev",
  "replit.app",
  "ru.com",
  "sa.com",
  "surge.sh",
  "tumblr.com",
  "uk.com",
  "uk.net",
  "us.com",
  "vercel.app",
  "web.app",
  "webflow.io",
  "weebly.com",
  "wixsite.com",
  "wordpress.com",
  "workers.dev",
  "za.com",
]);

export interface NameParts {
  /** All labels, left to right. */
  labels: string[];
  /** Index in `labels` of the registered label, or -1 when the name is only a suffix ("co.uk"). */
  registeredIndex: number;
  /** The public suffix as guessed ("com", "co.uk", "pages.dev"). */
  suffix: string;
  /** The last label ("com", "uk", "dev"). */
  topLevel: string;
  /** True under gov/edu/mil/int or a government/academic second level (gov.uk, ac.jp, edu.au...). */
  institutional: boolean;
}

/** Splits a normalized domain into its registered label, the labels below it and its suffix. */
export function splitName(domain: string): NameParts {
  const labels = domain.split(".");
  const count = labels.length;
  const topLevel = labels[count - 1] ?? "";
  const second = count >= 2 ? (labels[count - 2] ?? "") : "";
  let suffixLength = 1;
  if (count >= 2 && SHARED_SUFFIXES.has(`${second}.${topLevel}`)) {
    suffixLength = 2;
  } else if (count >= 2 && topLevel.length === 2 && CC_SECOND_LEVEL.has(second)) {
    suffixLength = 2;
  }
  const institutional =
    INSTITUTIONAL_TLDS.has(topLevel) ||
    (topLevel.length === 2 && count >= 3 && INSTITUTIONAL_SECOND_LEVEL.has(second));
  return {
    labels,
    registeredIndex: count - suffixLength - 1,
    suffix: labels.slice(count - suffixLength).join("."),
    topLevel,
    institutional,
  };
}
