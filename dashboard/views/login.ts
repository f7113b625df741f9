/** The sign-in view. */
import { t } from '../i18n.js';
import { h } from './dom.js';

export interface LoginContext {
  submit: (user: string, password: string) => Promise<void>;
  toggleLang: () => void;
  message?: string;
}

export function loginView(ctx: LoginContext, prefill = ''): HTMLElement {
  const user = h('input', {
    class: 'input',
    testid: 'login-user',
    attrs: { type: 'text', name: 'user', autocomplete: 'username', required: true, autofocus: true, maxlength: 64 },
  });
  user.value = prefill;
  const password = h('input', {
    class: 'input',
    testid: 'login-password',
    attrs: { type: 'password', name: 'password', autocomplete: 'current-password', required: true, maxlength: 256 },
  });
  const error = h('div', { class: 'login-error', testid: 'login-error', attrs: { role: 'alert' } }, ctx.message ?? '');
  const submit = h('button', { class: 'btn btn-primary btn-login', testid: 'login-submit', attrs: { type: 'submit' } }, t('login.submit'));
  const form = h(
    'form',
    {
      class: 'login-card',
      on: {
        submit: (ev) => {
          ev.preventDefault();
          error.textContent = '';
          submit.disabled = true;
          submit.textContent = t('login.busy');
          ctx.submit(user.value.trim(), password.value).catch((err: unknown) => {
            error.textContent = err instanceof Error ? err.message : String(err);
            submit.disabled = false;
            submit.textContent = t('login.submit');
            password.select();
          });
        },
      },
    },
    h('div', { class: 'login-emblem' }, h('span', null, '安')),
    h('h1', { class: 'login-title' }, t('app.title')),
    h('div', { class: 'login-sub' }, t('app.subtitle')),
    h('h2', { class: 'login-heading' }, t('login.heading')),
    h('label', { class: 'field' }, h('span', null, t('login.user')), user),
    h('label', { class: 'field' }, h('span', null, t('login.password')), password),
    error,
    submit,
  );
  const toggle = h(
    'button',
    { class: 'btn btn-ghost lang-toggle', testid: 'lang-toggle', attrs: { type: 'button' }, on: { click: () => ctx.toggleLang() } },
    t('lang.toggle'),
  );
  return h('div', { class: 'login-view', testid: 'login-view' }, h('div', { class: 'login-corner' }, toggle), form);
}
