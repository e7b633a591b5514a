// Draws every Plotly figure whose JSON the server embedded next to its container.
document.querySelectorAll("script[data-figure]").forEach((node) => {
  const figure = JSON.parse(node.textContent);
  const target = document.getElementById(node.dataset.figure);
  const config = { displaylogo: false, responsive: true, locale: document.documentElement.lang };
  Plotly.newPlot(target, figure.data, figure.layout, config).then(() => {
    target.dataset.rendered = "true";
  });
});
