/** nft and ip live in /usr/sbin; a service's PATH may lack it. */
export function sbinPath(): string {
  const path = process.env.PATH ?? "";
  const parts = path.split(":").filter(Boolean);
  for (const dir of ["/usr/sbin", "/sbin", "/usr/bin", "/bin"]) if (!parts.includes(dir)) parts.push(dir);
  return parts.join(":");
}
