"""GUI code (magicgui/Qt) of the napari plugin; imported only when napari builds a widget."""
