"""The folium one map, its layer styles, and the SVG maps of the printed documents."""
