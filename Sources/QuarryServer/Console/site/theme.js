// Applies the theme chosen with #theme-toggle before the page is painted, so a dark choice
// never flashes light. A classic script (not a module) because modules run only after parsing.
// Without a stored choice the CSS follows prefers-color-scheme.
try {
  const theme = localStorage.getItem('quarry.theme');
  if (theme === 'light' || theme === 'dark') document.documentElement.dataset.theme = theme;
} catch {
  // Storage can be disabled; the system theme then applies.
}
