// The icons the site shows, as Font Awesome's SVG core with only those icons. Bundled by
// tools/site_icons/build.sh into book/_static/scripts/fontawesome.js, which replaces the
// theme's file of the same name (every Font Awesome Free icon, 1.45 MB) in the built site.
// It works like the theme's: <i class="fa-solid fa-bars"> becomes an inline <svg>, also in
// content added later (dom.watch observes the page).
import { library, dom, config } from "@fortawesome/fontawesome-svg-core";
import {
  faAngleLeft, faAngleRight, faArrowUp, faBars, faCircleHalfStroke, faCode, faDownload,
  faExpand, faFile, faFilePdf, faLightbulb, faList, faMagnifyingGlass, faMoon, faOutdent,
  faRocket, faSun, faXmark, faCompress, faCopy, faCheck, faChevronDown, faChevronRight,
  faChevronLeft, faChevronUp, faLink, faBook, faPrint,
} from "@fortawesome/free-solid-svg-icons";
import { faGithub } from "@fortawesome/free-brands-svg-icons";

config.autoAddCss = true;
library.add(
  faAngleLeft, faAngleRight, faArrowUp, faBars, faCircleHalfStroke, faCode, faDownload,
  faExpand, faFile, faFilePdf, faLightbulb, faList, faMagnifyingGlass, faMoon, faOutdent,
  faRocket, faSun, faXmark, faCompress, faCopy, faCheck, faChevronDown, faChevronRight,
  faChevronLeft, faChevronUp, faLink, faBook, faPrint, faGithub,
);
dom.watch();
