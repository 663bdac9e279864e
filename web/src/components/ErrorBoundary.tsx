import { Component, type ErrorInfo, type ReactNode } from 'react';

/** A page that throws shows what happened and a way back, instead of a blank screen. */
export class ErrorBoundary extends Component<
  { children: ReactNode; resetKey: string },
  { error: Error | undefined }
> {
  override state = { error: undefined as Error | undefined };

  static getDerivedStateFromError(error: Error) {
    return { error };
  }

  override componentDidCatch(error: Error, info: ErrorInfo) {
    console.warn('page failed', error, info.componentStack);
  }

  override componentDidUpdate(previous: { resetKey: string }) {
    // Navigating elsewhere gives the new page a fresh start.
    if (previous.resetKey !== this.props.resetKey && this.state.error) this.setState({ error: undefined });
  }

  override render() {
    if (!this.state.error) return this.props.children;
    return (
      <section className="state state-error" role="alert">
        <h1>This page failed</h1>
        <p>{this.state.error.message}</p>
        <button type="button" onClick={() => window.location.reload()}>
          Reload
        </button>
      </section>
    );
  }
}
