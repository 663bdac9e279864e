import { setTheme, useTheme } from '../theme';

export function ThemeToggle() {
  const theme = useTheme();
  const other = theme === 'dark' ? 'light' : 'dark';
  return (
    <button
      type="button"
      className="icon-button theme-toggle"
      onClick={() => setTheme(other)}
      aria-label={`Switch to ${other} theme`}
      title={`Switch to ${other} theme`}
    >
      <span aria-hidden="true">{theme === 'dark' ? '☀' : '☾'}</span>
    </button>
  );
}
