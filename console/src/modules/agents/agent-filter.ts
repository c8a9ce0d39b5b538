/** "web, db , ,web" → ["web", "db"]: a comma list as typed into a tag field. */
export function parseTags(text: string): string[] {
  return [...new Set(text.split(',').map((t) => t.trim()).filter(Boolean))];
}
