/** The web app's entry: registers the components; `<tcp-app>` in index.html does the rest. */
import './components/ui.ts';
import './components/tcp-app.ts';
import './teach/tcp-teach.ts';

// `/teach` is the instructor dashboard (web/src/teach/).
if (location.pathname.replace(/\/+$/, '') === '/teach')
  document.querySelector('tcp-app')?.replaceWith(document.createElement('tcp-teach'));
