/** The web app's entry: registers the components; `<tcp-app>` in index.html does the rest. */
import './components/ui.ts';
import './components/tcp-app.ts';
