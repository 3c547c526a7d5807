// The stylesheets of the Vant components the shop uses, one by one (the whole of Vant's CSS is
// ~200 KB). A component added to a page needs its line here: `make test` checks that every
// <van-*> tag and show*() call under src/shop/ has one (web/tests/vant-styles.test.mjs).
import "vant/es/action-bar/style/index";
import "vant/es/action-bar-button/style/index";
import "vant/es/action-bar-icon/style/index";
import "vant/es/button/style/index";
import "vant/es/cascader/style/index";
import "vant/es/cell/style/index";
import "vant/es/cell-group/style/index";
import "vant/es/dialog/style/index";
import "vant/es/empty/style/index";
import "vant/es/field/style/index";
import "vant/es/form/style/index";
import "vant/es/grid/style/index";
import "vant/es/grid-item/style/index";
import "vant/es/loading/style/index";
import "vant/es/nav-bar/style/index";
import "vant/es/popup/style/index";
import "vant/es/radio/style/index";
import "vant/es/radio-group/style/index";
import "vant/es/rate/style/index";
import "vant/es/search/style/index";
import "vant/es/step/style/index";
import "vant/es/stepper/style/index";
import "vant/es/steps/style/index";
import "vant/es/submit-bar/style/index";
import "vant/es/swipe/style/index";
import "vant/es/swipe-item/style/index";
import "vant/es/switch/style/index";
import "vant/es/tab/style/index";
import "vant/es/tabbar/style/index";
import "vant/es/tabbar-item/style/index";
import "vant/es/tabs/style/index";
import "vant/es/tag/style/index";
import "vant/es/toast/style/index";
