// DOM builders. Every view makes its nodes through these, so text from the server only ever
// becomes text nodes and attribute values: there is no HTML parsing anywhere in the console
// (the page's Trusted Types policy would refuse it anyway).

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Looks an element up by id (the ids are the console's DOM contract). */
export const byId = (id) => document.getElementById(id);

/**
 * Makes an HTML element.
 * @param {string} tag
 * @param {Record<string, unknown>} [attributes] `class`, `text` (textContent) or any attribute;
 *   null, undefined and false leave an attribute out, true sets it empty.
 * @param {...(Node|string|number|null|undefined|Array)} children strings become text nodes.
 */
export function el(tag, attributes, ...children) {
  return build(document.createElement(tag), attributes, children);
}

/** Makes an SVG element (same arguments as `el`). */
export function svg(tag, attributes, ...children) {
  return build(document.createElementNS(SVG_NS, tag), attributes, children);
}

/** Replaces a node's children with `children` (strings as text). */
export function replaceChildren(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

function build(node, attributes, children) {
  for (const [name, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    // Event handlers and inline styles are never set from data: listeners are added in code,
    // styling goes through classes (the CSP forbids inline styles too).
    if (/^on/i.test(name) || name === 'style') throw new Error(`refusing attribute ${name}`);
    if (name === 'text') node.textContent = String(value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Calls `callback` once input has been quiet for `ms` milliseconds. */
export function debounce(callback, ms) {
  let timer = 0;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => callback(...args), ms);
  };
}
