import { mount } from 'svelte';
import App from './App.svelte';
import './app.css';

const theme = localStorage.getItem('highlander.theme');
if (theme === 'dark' || theme === 'light') document.documentElement.dataset.theme = theme;
else document.documentElement.dataset.theme = matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark';

mount(App, { target: document.getElementById('app')! });
