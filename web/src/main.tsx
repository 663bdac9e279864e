import { MutationCache, QueryCache, QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { isApiError } from './api/client';
import { keys } from './api/endpoints';
import { ToastProvider } from './components/Toasts';
import { initTheme } from './theme';
import './styles.css';

initTheme();

// A 401 anywhere means the session ended (signed out elsewhere, expired): show the sign-in screen.
const onError = (error: unknown) => {
  if (isApiError(error, 401)) queryClient.setQueryData(keys.session, null);
};

const queryClient: QueryClient = new QueryClient({
  queryCache: new QueryCache({ onError }),
  mutationCache: new MutationCache({ onError }),
  defaultOptions: {
    queries: {
      // Live data arrives over the event stream; refetching on every page change would only spend the
      // API's rate limit (100 requests a minute per client address by default).
      staleTime: 30_000,
      // Client errors do not heal by asking again; network trouble and 5xx may.
      retry: (count, error) => count < 2 && !(isApiError(error) && error.status >= 400 && error.status < 500),
    },
  },
});

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <QueryClientProvider client={queryClient}>
      <ToastProvider>
        <App />
      </ToastProvider>
    </QueryClientProvider>
  </StrictMode>,
);
