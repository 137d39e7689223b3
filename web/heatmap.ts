import { h, scrollBox } from './dom.js';

/** Above this share of its row a cell is dark enough to need white text. */
const DARK_CELL_SHARE = 0.5;

/**
 * confusionMatrix[actual][predicted] as a table whose cells are shaded by their share of the
 * row (how often class `actual` was read as `predicted`). Every cell shows its count and the
 * diagonal (correct answers) is outlined, so the table reads without colour.
 */
export function confusionHeatmap(matrix: number[][], onPick?: (actual: number, predicted: number) => void): HTMLElement {
  const classes = matrix.length;
  const headers = Array.from({ length: classes }, (_, label) => h('th', { scope: 'col', class: 'axis' }, label));
  const rows = matrix.map((row, actual) => {
    const total = row.reduce((sum, count) => sum + count, 0);
    return h('tr', {},
      h('th', { scope: 'row', class: 'axis' }, actual),
      ...row.map((count, predicted) => {
        const share = total > 0 ? count / total : 0;
        const pickable = onPick !== undefined && predicted !== actual && count > 0;
        const words = `actual ${actual}, predicted ${predicted}: ${count} (${Math.round(share * 100)}% of ${actual}s)`;
        return h('td', {
          class: predicted === actual ? 'diagonal' : undefined,
          style: `background: rgba(31, 95, 191, ${share.toFixed(3)}); color: ${share > DARK_CELL_SHARE ? '#fff' : 'inherit'}`,
          title: words,
          'aria-label': pickable ? undefined : words,
        }, pickable ? pickButton(words, () => onPick(actual, predicted), count) : count);
      }));
  });
  return h('div', {},
    h('p', { class: 'hint' }, `Rows: the true class. Columns: the predicted class. Darker means a larger share of the row; correct answers are outlined.${onPick ? ' Choose a mistake\'s count to see its samples.' : ''}`),
    scrollBox(h('table', { class: 'heatmap', 'aria-label': 'Confusion matrix' },
      h('thead', {}, h('tr', {}, h('th', { class: 'axis' }, h('span', { class: 'visually-hidden' }, 'actual \\ predicted')), ...headers)),
      h('tbody', {}, ...rows))));
}

function pickButton(words: string, pick: () => void, count: number): HTMLButtonElement {
  const button = h('button', { type: 'button', class: 'cell-button', 'aria-label': `${words}: show these samples` }, count);
  button.addEventListener('click', pick);
  return button;
}
