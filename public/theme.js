// Applies the theme the reader chose (src/ui/theme.rs) before the first paint.
try {
  const theme = localStorage.getItem("socket-chat:theme");
  if (theme === "dark" || theme === "light") document.documentElement.dataset.theme = theme;
} catch (_) {}
