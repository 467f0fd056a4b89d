(()=>{/*!
 * Font Awesome Free 6.7.2 by @fontawesome - https://fontawesome.com
 * License - https://fontawesome.com/license/free (Icons: CC BY 4.0, Fonts: SIL OFL 1.1, Code: MIT License)
 * Copyright 2024 Fonticons, Inc.
 */function k3(c,l,a){return(l=w3(l))in c?Object.defineProperty(c,l,{value:a,enumerable:!0,configurable:!0,writable:!0}):c[l]=a,c}function Z1(c,l){var a=Object.keys(c);if(Object.getOwnPropertySymbols){var s=Object.getOwnPropertySymbols(c);l&&(s=s.filter(function(e){return Object.getOwnPropertyDescriptor(c,e).enumerable})),a.push.apply(a,s)}return a}function i(c){for(var l=1;l<arguments.length;l++){var a=arguments[l]!=null?arguments[l]:{};l%2?Z1(Object(a),!0).forEach(function(s){k3(c,s,a[s])}):Object.getOwnPropertyDescriptors?Object.defineProperties(c,Object.getOwnPropertyDescriptors(a)):Z1(Object(a)).forEach(function(s){Object.defineProperty(c,s,Object.getOwnPropertyDescriptor(a,s))})}return c}function A3(c,l){if(typeof c!="object"||!c)return c;var a=c[Symbol.toPrimitive];if(a!==void 0){var s=a.call(c,l||"default");if(typeof s!="object")return s;throw new TypeError("@@toPrimitive must return a primitive value.")}return(l==="string"?String:Number)(c)}function w3(c){var l=A3(c,"string");return typeof l=="symbol"?l:l+""}var I1=()=>{},V1={},M2={},C2=null,p2={mark:I1,measure:I1};try{typeof window!="undefined"&&(V1=window),typeof document!="undefined"&&(M2=document),typeof MutationObserver!="undefined"&&(C2=MutationObserver),typeof performance!="undefined"&&(p2=performance)}catch(c){}var{userAgent:U1=""}=V1.navigator||{},V=V1,C=M2,G1=C2,K=p2,k0=!!V.document,k=!!C.documentElement&&!!C.head&&typeof C.addEventListener=="function"&&typeof C.createElement=="function",h2=~U1.indexOf("MSIE")||~U1.indexOf("Trident/"),V3=/fa(s|r|l|t|d|dr|dl|dt|b|k|kd|ss|sr|sl|st|sds|sdr|sdl|sdt)?[\-\ ]/,y3=/Font ?Awesome ?([56 ]*)(Solid|Regular|Light|Thin|Duotone|Brands|Free|Pro|Sharp Duotone|Sharp|Kit)?.*/i,u2={classic:{fa:"solid",fas:"solid","fa-solid":"solid",far:"regular","fa-regular":"regular",fal:"light","fa-light":"light",fat:"thin","fa-thin":"thin",fab:"brands","fa-brands":"brands"},duotone:{fa:"solid",fad:"solid","fa-solid":"solid","fa-duotone":"solid",fadr:"regular","fa-regular":"regular",fadl:"light","fa-light":"light",fadt:"thin","fa-thin":"thin"},sharp:{fa:"solid",fass:"solid","fa-solid":"solid",fasr:"regular","fa-regular":"regular",fasl:"light","fa-light":"light",fast:"thin","fa-thin":"thin"},"sharp-duotone":{fa:"solid",fasds:"solid","fa-solid":"solid",fasdr:"regular","fa-regular":"regular",fasdl:"light","fa-light":"light",fasdt:"thin","fa-thin":"thin"}},P3={GROUP:"duotone-group",SWAP_OPACITY:"swap-opacity",PRIMARY:"primary",SECONDARY:"secondary"},d2=["fa-classic","fa-duotone","fa-sharp","fa-sharp-duotone"],p="classic",a1="duotone",T3="sharp",F3="sharp-duotone",x2=[p,a1,T3,F3],q3={classic:{900:"fas",400:"far",normal:"far",300:"fal",100:"fat"},duotone:{900:"fad",400:"fadr",300:"fadl",100:"fadt"},sharp:{900:"fass",400:"fasr",300:"fasl",100:"fast"},"sharp-duotone":{900:"fasds",400:"fasdr",300:"fasdl",100:"fasdt"}},B3={"Font Awesome 6 Free":{900:"fas",400:"far"},"Font Awesome 6 Pro":{900:"fas",400:"far",normal:"far",300:"fal",100:"fat"},"Font Awesome 6 Brands":{400:"fab",normal:"fab"},"Font Awesome 6 Duotone":{900:"fad",400:"fadr",normal:"fadr",300:"fadl",100:"fadt"},"Font Awesome 6 Sharp":{900:"fass",400:"fasr",normal:"fasr",300:"fasl",100:"fast"},"Font Awesome 6 Sharp Duotone":{900:"fasds",400:"fasdr",normal:"fasdr",300:"fasdl",100:"fasdt"}},D3=new Map([["classic",{defaultShortPrefixId:"fas",defaultStyleId:"solid",styleIds:["solid","regular","light","thin","brands"],futureStyleIds:[],defaultFontWeight:900}],["sharp",{defaultShortPrefixId:"fass",defaultStyleId:"solid",styleIds:["solid","regular","light","thin"],futureStyleIds:[],defaultFontWeight:900}],["duotone",{defaultShortPrefixId:"fad",defaultStyleId:"solid",styleIds:["solid","regular","light","thin"],futureStyleIds:[],defaultFontWeight:900}],["sharp-duotone",{defaultShortPrefixId:"fasds",defaultStyleId:"solid",styleIds:["solid","regular","light","thin"],futureStyleIds:[],defaultFontWeight:900}]]),R3={classic:{solid:"fas",regular:"far",light:"fal",thin:"fat",brands:"fab"},duotone:{solid:"fad",regular:"fadr",light:"fadl",thin:"fadt"},sharp:{solid:"fass",regular:"fasr",light:"fasl",thin:"fast"},"sharp-duotone":{solid:"fasds",regular:"fasdr",light:"fasdl",thin:"fasdt"}},E3=["fak","fa-kit","fakd","fa-kit-duotone"],W1={kit:{fak:"kit","fa-kit":"kit"},"kit-duotone":{fakd:"kit-duotone","fa-kit-duotone":"kit-duotone"}},O3=["kit"],Z3={kit:{"fa-kit":"fak"},"kit-duotone":{"fa-kit-duotone":"fakd"}},I3=["fak","fakd"],U3={kit:{fak:"fa-kit"},"kit-duotone":{fakd:"fa-kit-duotone"}},_1={kit:{kit:"fak"},"kit-duotone":{"kit-duotone":"fakd"}},Q={GROUP:"duotone-group",SWAP_OPACITY:"swap-opacity",PRIMARY:"primary",SECONDARY:"secondary"},G3=["fa-classic","fa-duotone","fa-sharp","fa-sharp-duotone"],W3=["fak","fa-kit","fakd","fa-kit-duotone"],_3={"Font Awesome Kit":{400:"fak",normal:"fak"},"Font Awesome Kit Duotone":{400:"fakd",normal:"fakd"}},j3={classic:{"fa-brands":"fab","fa-duotone":"fad","fa-light":"fal","fa-regular":"far","fa-solid":"fas","fa-thin":"fat"},duotone:{"fa-regular":"fadr","fa-light":"fadl","fa-thin":"fadt"},sharp:{"fa-solid":"fass","fa-regular":"fasr","fa-light":"fasl","fa-thin":"fast"},"sharp-duotone":{"fa-solid":"fasds","fa-regular":"fasdr","fa-light":"fasdl","fa-thin":"fasdt"}},Y3={classic:["fas","far","fal","fat","fad"],duotone:["fadr","fadl","fadt"],sharp:["fass","fasr","fasl","fast"],"sharp-duotone":["fasds","fasdr","fasdl","fasdt"]},L1={classic:{fab:"fa-brands",fad:"fa-duotone",fal:"fa-light",far:"fa-regular",fas:"fa-solid",fat:"fa-thin"},duotone:{fadr:"fa-regular",fadl:"fa-light",fadt:"fa-thin"},sharp:{fass:"fa-solid",fasr:"fa-regular",fasl:"fa-light",fast:"fa-thin"},"sharp-duotone":{fasds:"fa-solid",fasdr:"fa-regular",fasdl:"fa-light",fasdt:"fa-thin"}},X3=["fa-solid","fa-regular","fa-light","fa-thin","fa-duotone","fa-brands"],M1=["fa","fas","far","fal","fat","fad","fadr","fadl","fadt","fab","fass","fasr","fasl","fast","fasds","fasdr","fasdl","fasdt",...G3,...X3],K3=["solid","regular","light","thin","duotone","brands"],N2=[1,2,3,4,5,6,7,8,9,10],Q3=N2.concat([11,12,13,14,15,16,17,18,19,20]),J3=[...Object.keys(Y3),...K3,"2xs","xs","sm","lg","xl","2xl","beat","border","fade","beat-fade","bounce","flip-both","flip-horizontal","flip-vertical","flip","fw","inverse","layers-counter","layers-text","layers","li","pull-left","pull-right","pulse","rotate-180","rotate-270","rotate-90","rotate-by","shake","spin-pulse","spin-reverse","spin","stack-1x","stack-2x","stack","ul",Q.GROUP,Q.SWAP_OPACITY,Q.PRIMARY,Q.SECONDARY].concat(N2.map(c=>"".concat(c,"x"))).concat(Q3.map(c=>"w-".concat(c))),$3={"Font Awesome 5 Free":{900:"fas",400:"far"},"Font Awesome 5 Pro":{900:"fas",400:"far",normal:"far",300:"fal"},"Font Awesome 5 Brands":{400:"fab",normal:"fab"},"Font Awesome 5 Duotone":{900:"fad"}},S="___FONT_AWESOME___",C1=16,b2="fa",g2="svg-inline--fa",q="data-fa-i2svg",p1="data-fa-pseudo-element",c4="data-fa-pseudo-element-pending",y1="data-prefix",P1="data-icon",j1="fontawesome-i2svg",l4="async",a4=["HTML","HEAD","STYLE","SCRIPT"],v2=(()=>{try{return!0}catch(c){return!1}})();function Y(c){return new Proxy(c,{get(l,a){return a in l?l[a]:l[p]}})}var S2=i({},u2);S2[p]=i(i(i(i({},{"fa-duotone":"duotone"}),u2[p]),W1.kit),W1["kit-duotone"]);var s4=Y(S2),h1=i({},R3);h1[p]=i(i(i(i({},{duotone:"fad"}),h1[p]),_1.kit),_1["kit-duotone"]);var Y1=Y(h1),u1=i({},L1);u1[p]=i(i({},u1[p]),U3.kit);var T1=Y(u1),d1=i({},j3);d1[p]=i(i({},d1[p]),Z3.kit);var A0=Y(d1),e4=V3,H2="fa-layers-text",n4=y3,o4=i({},q3),w0=Y(o4),i4=["class","data-prefix","data-icon","data-fa-transform","data-fa-mask"],f1=P3,f4=[...O3,...J3],G=V.FontAwesomeConfig||{};function t4(c){var l=C.querySelector("script["+c+"]");if(l)return l.getAttribute(c)}function r4(c){return c===""?!0:c==="false"?!1:c==="true"?!0:c}C&&typeof C.querySelector=="function"&&[["data-family-prefix","familyPrefix"],["data-css-prefix","cssPrefix"],["data-family-default","familyDefault"],["data-style-default","styleDefault"],["data-replacement-class","replacementClass"],["data-auto-replace-svg","autoReplaceSvg"],["data-auto-add-css","autoAddCss"],["data-auto-a11y","autoA11y"],["data-search-pseudo-elements","searchPseudoElements"],["data-observe-mutations","observeMutations"],["data-mutate-approach","mutateApproach"],["data-keep-original-source","keepOriginalSource"],["data-measure-performance","measurePerformance"],["data-show-missing-icons","showMissingIcons"]].forEach(l=>{let[a,s]=l,e=r4(t4(a));e!=null&&(G[s]=e)});var k2={styleDefault:"solid",familyDefault:p,cssPrefix:b2,replacementClass:g2,autoReplaceSvg:!0,autoAddCss:!0,autoA11y:!0,searchPseudoElements:!1,observeMutations:!0,mutateApproach:"async",keepOriginalSource:!0,measurePerformance:!1,showMissingIcons:!0};G.familyPrefix&&(G.cssPrefix=G.familyPrefix);var Z=i(i({},k2),G);Z.autoReplaceSvg||(Z.observeMutations=!1);var t={};Object.keys(k2).forEach(c=>{Object.defineProperty(t,c,{enumerable:!0,set:function(l){Z[c]=l,W.forEach(a=>a(t))},get:function(){return Z[c]}})});Object.defineProperty(t,"familyPrefix",{enumerable:!0,set:function(c){Z.cssPrefix=c,W.forEach(l=>l(t))},get:function(){return Z.cssPrefix}});V.FontAwesomeConfig=t;var W=[];function z4(c){return W.push(c),()=>{W.splice(W.indexOf(c),1)}}var w=C1,b={size:16,x:0,y:0,rotate:0,flipX:!1,flipY:!1};function m4(c){if(!c||!k)return;let l=C.createElement("style");l.setAttribute("type","text/css"),l.innerHTML=c;let a=C.head.childNodes,s=null;for(let e=a.length-1;e>-1;e--){let n=a[e],o=(n.tagName||"").toUpperCase();["STYLE","LINK"].indexOf(o)>-1&&(s=n)}return C.head.insertBefore(l,s),c}var L4="0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";function _(){let c=12,l="";for(;c-- >0;)l+=L4[Math.random()*62|0];return l}function I(c){let l=[];for(let a=(c||[]).length>>>0;a--;)l[a]=c[a];return l}function F1(c){return c.classList?I(c.classList):(c.getAttribute("class")||"").split(" ").filter(l=>l)}function A2(c){return"".concat(c).replace(/&/g,"&amp;").replace(/"/g,"&quot;").replace(/'/g,"&#39;").replace(/</g,"&lt;").replace(/>/g,"&gt;")}function M4(c){return Object.keys(c||{}).reduce((l,a)=>l+"".concat(a,'="').concat(A2(c[a]),'" '),"").trim()}function s1(c){return Object.keys(c||{}).reduce((l,a)=>l+"".concat(a,": ").concat(c[a].trim(),";"),"")}function q1(c){return c.size!==b.size||c.x!==b.x||c.y!==b.y||c.rotate!==b.rotate||c.flipX||c.flipY}function C4(c){let{transform:l,containerWidth:a,iconWidth:s}=c,e={transform:"translate(".concat(a/2," 256)")},n="translate(".concat(l.x*32,", ").concat(l.y*32,") "),o="scale(".concat(l.size/16*(l.flipX?-1:1),", ").concat(l.size/16*(l.flipY?-1:1),") "),f="rotate(".concat(l.rotate," 0 0)"),z={transform:"".concat(n," ").concat(o," ").concat(f)},r={transform:"translate(".concat(s/2*-1," -256)")};return{outer:e,inner:z,path:r}}function p4(c){let{transform:l,width:a=C1,height:s=C1,startCentered:e=!1}=c,n="";return e&&h2?n+="translate(".concat(l.x/w-a/2,"em, ").concat(l.y/w-s/2,"em) "):e?n+="translate(calc(-50% + ".concat(l.x/w,"em), calc(-50% + ").concat(l.y/w,"em)) "):n+="translate(".concat(l.x/w,"em, ").concat(l.y/w,"em) "),n+="scale(".concat(l.size/w*(l.flipX?-1:1),", ").concat(l.size/w*(l.flipY?-1:1),") "),n+="rotate(".concat(l.rotate,"deg) "),n}var h4=`:root, :host {
  --fa-font-solid: normal 900 1em/1 "Font Awesome 6 Free";
  --fa-font-regular: normal 400 1em/1 "Font Awesome 6 Free";
  --fa-font-light: normal 300 1em/1 "Font Awesome 6 Pro";
  --fa-font-thin: normal 100 1em/1 "Font Awesome 6 Pro";
  --fa-font-duotone: normal 900 1em/1 "Font Awesome 6 Duotone";
  --fa-font-duotone-regular: normal 400 1em/1 "Font Awesome 6 Duotone";
  --fa-font-duotone-light: normal 300 1em/1 "Font Awesome 6 Duotone";
  --fa-font-duotone-thin: normal 100 1em/1 "Font Awesome 6 Duotone";
  --fa-font-brands: normal 400 1em/1 "Font Awesome 6 Brands";
  --fa-font-sharp-solid: normal 900 1em/1 "Font Awesome 6 Sharp";
  --fa-font-sharp-regular: normal 400 1em/1 "Font Awesome 6 Sharp";
  --fa-font-sharp-light: normal 300 1em/1 "Font Awesome 6 Sharp";
  --fa-font-sharp-thin: normal 100 1em/1 "Font Awesome 6 Sharp";
  --fa-font-sharp-duotone-solid: normal 900 1em/1 "Font Awesome 6 Sharp Duotone";
  --fa-font-sharp-duotone-regular: normal 400 1em/1 "Font Awesome 6 Sharp Duotone";
  --fa-font-sharp-duotone-light: normal 300 1em/1 "Font Awesome 6 Sharp Duotone";
  --fa-font-sharp-duotone-thin: normal 100 1em/1 "Font Awesome 6 Sharp Duotone";
}

svg:not(:root).svg-inline--fa, svg:not(:host).svg-inline--fa {
  overflow: visible;
  box-sizing: content-box;
}

.svg-inline--fa {
  display: var(--fa-display, inline-block);
  height: 1em;
  overflow: visible;
  vertical-align: -0.125em;
}
.svg-inline--fa.fa-2xs {
  vertical-align: 0.1em;
}
.svg-inline--fa.fa-xs {
  vertical-align: 0em;
}
.svg-inline--fa.fa-sm {
  vertical-align: -0.0714285705em;
}
.svg-inline--fa.fa-lg {
  vertical-align: -0.2em;
}
.svg-inline--fa.fa-xl {
  vertical-align: -0.25em;
}
.svg-inline--fa.fa-2xl {
  vertical-align: -0.3125em;
}
.svg-inline--fa.fa-pull-left {
  margin-right: var(--fa-pull-margin, 0.3em);
  width: auto;
}
.svg-inline--fa.fa-pull-right {
  margin-left: var(--fa-pull-margin, 0.3em);
  width: auto;
}
.svg-inline--fa.fa-li {
  width: var(--fa-li-width, 2em);
  top: 0.25em;
}
.svg-inline--fa.fa-fw {
  width: var(--fa-fw-width, 1.25em);
}

.fa-layers svg.svg-inline--fa {
  bottom: 0;
  left: 0;
  margin: auto;
  position: absolute;
  right: 0;
  top: 0;
}

.fa-layers-counter, .fa-layers-text {
  display: inline-block;
  position: absolute;
  text-align: center;
}

.fa-layers {
  display: inline-block;
  height: 1em;
  position: relative;
  text-align: center;
  vertical-align: -0.125em;
  width: 1em;
}
.fa-layers svg.svg-inline--fa {
  transform-origin: center center;
}

.fa-layers-text {
  left: 50%;
  top: 50%;
  transform: translate(-50%, -50%);
  transform-origin: center center;
}

.fa-layers-counter {
  background-color: var(--fa-counter-background-color, #ff253a);
  border-radius: var(--fa-counter-border-radius, 1em);
  box-sizing: border-box;
  color: var(--fa-inverse, #fff);
  line-height: var(--fa-counter-line-height, 1);
  max-width: var(--fa-counter-max-width, 5em);
  min-width: var(--fa-counter-min-width, 1.5em);
  overflow: hidden;
  padding: var(--fa-counter-padding, 0.25em 0.5em);
  right: var(--fa-right, 0);
  text-overflow: ellipsis;
  top: var(--fa-top, 0);
  transform: scale(var(--fa-counter-scale, 0.25));
  transform-origin: top right;
}

.fa-layers-bottom-right {
  bottom: var(--fa-bottom, 0);
  right: var(--fa-right, 0);
  top: auto;
  transform: scale(var(--fa-layers-scale, 0.25));
  transform-origin: bottom right;
}

.fa-layers-bottom-left {
  bottom: var(--fa-bottom, 0);
  left: var(--fa-left, 0);
  right: auto;
  top: auto;
  transform: scale(var(--fa-layers-scale, 0.25));
  transform-origin: bottom left;
}

.fa-layers-top-right {
  top: var(--fa-top, 0);
  right: var(--fa-right, 0);
  transform: scale(var(--fa-layers-scale, 0.25));
  transform-origin: top right;
}

.fa-layers-top-left {
  left: var(--fa-left, 0);
  right: auto;
  top: var(--fa-top, 0);
  transform: scale(var(--fa-layers-scale, 0.25));
  transform-origin: top left;
}

.fa-1x {
  font-size: 1em;
}

.fa-2x {
  font-size: 2em;
}

.fa-3x {
  font-size: 3em;
}

.fa-4x {
  font-size: 4em;
}

.fa-5x {
  font-size: 5em;
}

.fa-6x {
  font-size: 6em;
}

.fa-7x {
  font-size: 7em;
}

.fa-8x {
  font-size: 8em;
}

.fa-9x {
  font-size: 9em;
}

.fa-10x {
  font-size: 10em;
}

.fa-2xs {
  font-size: 0.625em;
  line-height: 0.1em;
  vertical-align: 0.225em;
}

.fa-xs {
  font-size: 0.75em;
  line-height: 0.0833333337em;
  vertical-align: 0.125em;
}

.fa-sm {
  font-size: 0.875em;
  line-height: 0.0714285718em;
  vertical-align: 0.0535714295em;
}

.fa-lg {
  font-size: 1.25em;
  line-height: 0.05em;
  vertical-align: -0.075em;
}

.fa-xl {
  font-size: 1.5em;
  line-height: 0.0416666682em;
  vertical-align: -0.125em;
}

.fa-2xl {
  font-size: 2em;
  line-height: 0.03125em;
  vertical-align: -0.1875em;
}

.fa-fw {
  text-align: center;
  width: 1.25em;
}

.fa-ul {
  list-style-type: none;
  margin-left: var(--fa-li-margin, 2.5em);
  padding-left: 0;
}
.fa-ul > li {
  position: relative;
}

.fa-li {
  left: calc(-1 * var(--fa-li-width, 2em));
  position: absolute;
  text-align: center;
  width: var(--fa-li-width, 2em);
  line-height: inherit;
}

.fa-border {
  border-color: var(--fa-border-color, #eee);
  border-radius: var(--fa-border-radius, 0.1em);
  border-style: var(--fa-border-style, solid);
  border-width: var(--fa-border-width, 0.08em);
  padding: var(--fa-border-padding, 0.2em 0.25em 0.15em);
}

.fa-pull-left {
  float: left;
  margin-right: var(--fa-pull-margin, 0.3em);
}

.fa-pull-right {
  float: right;
  margin-left: var(--fa-pull-margin, 0.3em);
}

.fa-beat {
  animation-name: fa-beat;
  animation-delay: var(--fa-animation-delay, 0s);
  animation-direction: var(--fa-animation-direction, normal);
  animation-duration: var(--fa-animation-duration, 1s);
  animation-iteration-count: var(--fa-animation-iteration-count, infinite);
  animation-timing-function: var(--fa-animation-timing, ease-in-out);
}

.fa-bounce {
  animation-name: fa-bounce;
  animation-delay: var(--fa-animation-delay, 0s);
  animation-direction: var(--fa-animation-direction, normal);
  animation-duration: var(--fa-animation-duration, 1s);
  animation-iteration-count: var(--fa-animation-iteration-count, infinite);
  animation-timing-function: var(--fa-animation-timing, cubic-bezier(0.28, 0.84, 0.42, 1));
}

.fa-fade {
  animation-name: fa-fade;
  animation-delay: var(--fa-animation-delay, 0s);
  animation-direction: var(--fa-animation-direction, normal);
  animation-duration: var(--fa-animation-duration, 1s);
  animation-iteration-count: var(--fa-animation-iteration-count, infinite);
  animation-timing-function: var(--fa-animation-timing, cubic-bezier(0.4, 0, 0.6, 1));
}

.fa-beat-fade {
  animation-name: fa-beat-fade;
  animation-delay: var(--fa-animation-delay, 0s);
  animation-direction: var(--fa-animation-direction, normal);
  animation-duration: var(--fa-animation-duration, 1s);
  animation-iteration-count: var(--fa-animation-iteration-count, infinite);
  animation-timing-function: var(--fa-animation-timing, cubic-bezier(0.4, 0, 0.6, 1));
}

.fa-flip {
  animation-name: fa-flip;
  animation-delay: var(--fa-animation-delay, 0s);
  animation-direction: var(--fa-animation-direction, normal);
  animation-duration: var(--fa-animation-duration, 1s);
  animation-iteration-count: var(--fa-animation-iteration-count, infinite);
  animation-timing-function: var(--fa-animation-timing, ease-in-out);
}

.fa-shake {
  animation-name: fa-shake;
  animation-delay: var(--fa-animation-delay, 0s);
  animation-direction: var(--fa-animation-direction, normal);
  animation-duration: var(--fa-animation-duration, 1s);
  animation-iteration-count: var(--fa-animation-iteration-count, infinite);
  animation-timing-function: var(--fa-animation-timing, linear);
}

.fa-spin {
  animation-name: fa-spin;
  animation-delay: var(--fa-animation-delay, 0s);
  animation-direction: var(--fa-animation-direction, normal);
  animation-duration: var(--fa-animation-duration, 2s);
  animation-iteration-count: var(--fa-animation-iteration-count, infinite);
  animation-timing-function: var(--fa-animation-timing, linear);
}

.fa-spin-reverse {
  --fa-animation-direction: reverse;
}

.fa-pulse,
.fa-spin-pulse {
  animation-name: fa-spin;
  animation-direction: var(--fa-animation-direction, normal);
  animation-duration: var(--fa-animation-duration, 1s);
  animation-iteration-count: var(--fa-animation-iteration-count, infinite);
  animation-timing-function: var(--fa-animation-timing, steps(8));
}

@media (prefers-reduced-motion: reduce) {
  .fa-beat,
.fa-bounce,
.fa-fade,
.fa-beat-fade,
.fa-flip,
.fa-pulse,
.fa-shake,
.fa-spin,
.fa-spin-pulse {
    animation-delay: -1ms;
    animation-duration: 1ms;
    animation-iteration-count: 1;
    transition-delay: 0s;
    transition-duration: 0s;
  }
}
@keyframes fa-beat {
  0%, 90% {
    transform: scale(1);
  }
  45% {
    transform: scale(var(--fa-beat-scale, 1.25));
  }
}
@keyframes fa-bounce {
  0% {
    transform: scale(1, 1) translateY(0);
  }
  10% {
    transform: scale(var(--fa-bounce-start-scale-x, 1.1), var(--fa-bounce-start-scale-y, 0.9)) translateY(0);
  }
  30% {
    transform: scale(var(--fa-bounce-jump-scale-x, 0.9), var(--fa-bounce-jump-scale-y, 1.1)) translateY(var(--fa-bounce-height, -0.5em));
  }
  50% {
    transform: scale(var(--fa-bounce-land-scale-x, 1.05), var(--fa-bounce-land-scale-y, 0.95)) translateY(0);
  }
  57% {
    transform: scale(1, 1) translateY(var(--fa-bounce-rebound, -0.125em));
  }
  64% {
    transform: scale(1, 1) translateY(0);
  }
  100% {
    transform: scale(1, 1) translateY(0);
  }
}
@keyframes fa-fade {
  50% {
    opacity: var(--fa-fade-opacity, 0.4);
  }
}
@keyframes fa-beat-fade {
  0%, 100% {
    opacity: var(--fa-beat-fade-opacity, 0.4);
    transform: scale(1);
  }
  50% {
    opacity: 1;
    transform: scale(var(--fa-beat-fade-scale, 1.125));
  }
}
@keyframes fa-flip {
  50% {
    transform: rotate3d(var(--fa-flip-x, 0), var(--fa-flip-y, 1), var(--fa-flip-z, 0), var(--fa-flip-angle, -180deg));
  }
}
@keyframes fa-shake {
  0% {
    transform: rotate(-15deg);
  }
  4% {
    transform: rotate(15deg);
  }
  8%, 24% {
    transform: rotate(-18deg);
  }
  12%, 28% {
    transform: rotate(18deg);
  }
  16% {
    transform: rotate(-22deg);
  }
  20% {
    transform: rotate(22deg);
  }
  32% {
    transform: rotate(-12deg);
  }
  36% {
    transform: rotate(12deg);
  }
  40%, 100% {
    transform: rotate(0deg);
  }
}
@keyframes fa-spin {
  0% {
    transform: rotate(0deg);
  }
  100% {
    transform: rotate(360deg);
  }
}
.fa-rotate-90 {
  transform: rotate(90deg);
}

.fa-rotate-180 {
  transform: rotate(180deg);
}

.fa-rotate-270 {
  transform: rotate(270deg);
}

.fa-flip-horizontal {
  transform: scale(-1, 1);
}

.fa-flip-vertical {
  transform: scale(1, -1);
}

.fa-flip-both,
.fa-flip-horizontal.fa-flip-vertical {
  transform: scale(-1, -1);
}

.fa-rotate-by {
  transform: rotate(var(--fa-rotate-angle, 0));
}

.fa-stack {
  display: inline-block;
  vertical-align: middle;
  height: 2em;
  position: relative;
  width: 2.5em;
}

.fa-stack-1x,
.fa-stack-2x {
  bottom: 0;
  left: 0;
  margin: auto;
  position: absolute;
  right: 0;
  top: 0;
  z-index: var(--fa-stack-z-index, auto);
}

.svg-inline--fa.fa-stack-1x {
  height: 1em;
  width: 1.25em;
}
.svg-inline--fa.fa-stack-2x {
  height: 2em;
  width: 2.5em;
}

.fa-inverse {
  color: var(--fa-inverse, #fff);
}

.sr-only,
.fa-sr-only {
  position: absolute;
  width: 1px;
  height: 1px;
  padding: 0;
  margin: -1px;
  overflow: hidden;
  clip: rect(0, 0, 0, 0);
  white-space: nowrap;
  border-width: 0;
}

.sr-only-focusable:not(:focus),
.fa-sr-only-focusable:not(:focus) {
  position: absolute;
  width: 1px;
  height: 1px;
  padding: 0;
  margin: -1px;
  overflow: hidden;
  clip: rect(0, 0, 0, 0);
  white-space: nowrap;
  border-width: 0;
}

.svg-inline--fa .fa-primary {
  fill: var(--fa-primary-color, currentColor);
  opacity: var(--fa-primary-opacity, 1);
}

.svg-inline--fa .fa-secondary {
  fill: var(--fa-secondary-color, currentColor);
  opacity: var(--fa-secondary-opacity, 0.4);
}

.svg-inline--fa.fa-swap-opacity .fa-primary {
  opacity: var(--fa-secondary-opacity, 0.4);
}

.svg-inline--fa.fa-swap-opacity .fa-secondary {
  opacity: var(--fa-primary-opacity, 1);
}

.svg-inline--fa mask .fa-primary,
.svg-inline--fa mask .fa-secondary {
  fill: black;
}`;function w2(){let c=b2,l=g2,a=t.cssPrefix,s=t.replacementClass,e=h4;if(a!==c||s!==l){let n=new RegExp("\\.".concat(c,"\\-"),"g"),o=new RegExp("\\--".concat(c,"\\-"),"g"),f=new RegExp("\\.".concat(l),"g");e=e.replace(n,".".concat(a,"-")).replace(o,"--".concat(a,"-")).replace(f,".".concat(s))}return e}var X1=!1;function t1(){t.autoAddCss&&!X1&&(m4(w2()),X1=!0)}var u4={mixout(){return{dom:{css:w2,insertCss:t1}}},hooks(){return{beforeDOMElementCreation(){t1()},beforeI2svg(){t1()}}}},H=V||{};H[S]||(H[S]={});H[S].styles||(H[S].styles={});H[S].hooks||(H[S].hooks={});H[S].shims||(H[S].shims=[]);var g=H[S],V2=[],y2=function(){C.removeEventListener("DOMContentLoaded",y2),c1=1,V2.map(c=>c())},c1=!1;k&&(c1=(C.documentElement.doScroll?/^loaded|^c/:/^loaded|^i|^c/).test(C.readyState),c1||C.addEventListener("DOMContentLoaded",y2));function d4(c){k&&(c1?setTimeout(c,0):V2.push(c))}function X(c){let{tag:l,attributes:a={},children:s=[]}=c;return typeof c=="string"?A2(c):"<".concat(l," ").concat(M4(a),">").concat(s.map(X).join(""),"</").concat(l,">")}function K1(c,l,a){if(c&&c[l]&&c[l][a])return{prefix:l,iconName:a,icon:c[l][a]}}var x4=function(l,a){return function(s,e,n,o){return l.call(a,s,e,n,o)}},r1=function(l,a,s,e){var n=Object.keys(l),o=n.length,f=e!==void 0?x4(a,e):a,z,r,m;for(s===void 0?(z=1,m=l[n[0]]):(z=0,m=s);z<o;z++)r=n[z],m=f(m,l[r],r,l);return m};function N4(c){let l=[],a=0,s=c.length;for(;a<s;){let e=c.charCodeAt(a++);if(e>=55296&&e<=56319&&a<s){let n=c.charCodeAt(a++);(n&64512)==56320?l.push(((e&1023)<<10)+(n&1023)+65536):(l.push(e),a--)}else l.push(e)}return l}function x1(c){let l=N4(c);return l.length===1?l[0].toString(16):null}function b4(c,l){let a=c.length,s=c.charCodeAt(l),e;return s>=55296&&s<=56319&&a>l+1&&(e=c.charCodeAt(l+1),e>=56320&&e<=57343)?(s-55296)*1024+e-56320+65536:s}function Q1(c){return Object.keys(c).reduce((l,a)=>{let s=c[a];return!!s.icon?l[s.iconName]=s.icon:l[a]=s,l},{})}function N1(c,l){let a=arguments.length>2&&arguments[2]!==void 0?arguments[2]:{},{skipHooks:s=!1}=a,e=Q1(l);typeof g.hooks.addPack=="function"&&!s?g.hooks.addPack(c,Q1(l)):g.styles[c]=i(i({},g.styles[c]||{}),e),c==="fas"&&N1("fa",l)}var{styles:j,shims:g4}=g,P2=Object.keys(T1),v4=P2.reduce((c,l)=>(c[l]=Object.keys(T1[l]),c),{}),B1=null,T2={},F2={},q2={},B2={},D2={};function S4(c){return~f4.indexOf(c)}function H4(c,l){let a=l.split("-"),s=a[0],e=a.slice(1).join("-");return s===c&&e!==""&&!S4(e)?e:null}var R2=()=>{let c=s=>r1(j,(e,n,o)=>(e[o]=r1(n,s,{}),e),{});T2=c((s,e,n)=>(e[3]&&(s[e[3]]=n),e[2]&&e[2].filter(f=>typeof f=="number").forEach(f=>{s[f.toString(16)]=n}),s)),F2=c((s,e,n)=>(s[n]=n,e[2]&&e[2].filter(f=>typeof f=="string").forEach(f=>{s[f]=n}),s)),D2=c((s,e,n)=>{let o=e[2];return s[n]=n,o.forEach(f=>{s[f]=n}),s});let l="far"in j||t.autoFetchSvg,a=r1(g4,(s,e)=>{let n=e[0],o=e[1],f=e[2];return o==="far"&&!l&&(o="fas"),typeof n=="string"&&(s.names[n]={prefix:o,iconName:f}),typeof n=="number"&&(s.unicodes[n.toString(16)]={prefix:o,iconName:f}),s},{names:{},unicodes:{}});q2=a.names,B2=a.unicodes,B1=e1(t.styleDefault,{family:t.familyDefault})};z4(c=>{B1=e1(c.styleDefault,{family:t.familyDefault})});R2();function D1(c,l){return(T2[c]||{})[l]}function k4(c,l){return(F2[c]||{})[l]}function F(c,l){return(D2[c]||{})[l]}function E2(c){return q2[c]||{prefix:null,iconName:null}}function A4(c){let l=B2[c],a=D1("fas",c);return l||(a?{prefix:"fas",iconName:a}:null)||{prefix:null,iconName:null}}function y(){return B1}var O2=()=>({prefix:null,iconName:null,rest:[]});function w4(c){let l=p,a=P2.reduce((s,e)=>(s[e]="".concat(t.cssPrefix,"-").concat(e),s),{});return x2.forEach(s=>{(c.includes(a[s])||c.some(e=>v4[s].includes(e)))&&(l=s)}),l}function e1(c){let l=arguments.length>1&&arguments[1]!==void 0?arguments[1]:{},{family:a=p}=l,s=s4[a][c];if(a===a1&&!c)return"fad";let e=Y1[a][c]||Y1[a][s],n=c in g.styles?c:null;return e||n||null}function V4(c){let l=[],a=null;return c.forEach(s=>{let e=H4(t.cssPrefix,s);e?a=e:s&&l.push(s)}),{iconName:a,rest:l}}function J1(c){return c.sort().filter((l,a,s)=>s.indexOf(l)===a)}function n1(c){let l=arguments.length>1&&arguments[1]!==void 0?arguments[1]:{},{skipLookups:a=!1}=l,s=null,e=M1.concat(W3),n=J1(c.filter(M=>e.includes(M))),o=J1(c.filter(M=>!M1.includes(M))),f=n.filter(M=>(s=M,!d2.includes(M))),[z=null]=f,r=w4(n),m=i(i({},V4(o)),{},{prefix:e1(z,{family:r})});return i(i(i({},m),F4({values:c,family:r,styles:j,config:t,canonical:m,givenPrefix:s})),y4(a,s,m))}function y4(c,l,a){let{prefix:s,iconName:e}=a;if(c||!s||!e)return{prefix:s,iconName:e};let n=l==="fa"?E2(e):{},o=F(s,e);return e=n.iconName||o||e,s=n.prefix||s,s==="far"&&!j.far&&j.fas&&!t.autoFetchSvg&&(s="fas"),{prefix:s,iconName:e}}var P4=x2.filter(c=>c!==p||c!==a1),T4=Object.keys(L1).filter(c=>c!==p).map(c=>Object.keys(L1[c])).flat();function F4(c){let{values:l,family:a,canonical:s,givenPrefix:e="",styles:n={},config:o={}}=c,f=a===a1,z=l.includes("fa-duotone")||l.includes("fad"),r=o.familyDefault==="duotone",m=s.prefix==="fad"||s.prefix==="fa-duotone";if(!f&&(z||r||m)&&(s.prefix="fad"),(l.includes("fa-brands")||l.includes("fab"))&&(s.prefix="fab"),!s.prefix&&P4.includes(a)&&(Object.keys(n).find(L=>T4.includes(L))||o.autoFetchSvg)){let L=D3.get(a).defaultShortPrefixId;s.prefix=L,s.iconName=F(s.prefix,s.iconName)||s.iconName}return(s.prefix==="fa"||e==="fa")&&(s.prefix=y()||"fas"),s}var b1=class{constructor(){this.definitions={}}add(){for(var l=arguments.length,a=new Array(l),s=0;s<l;s++)a[s]=arguments[s];let e=a.reduce(this._pullDefinitions,{});Object.keys(e).forEach(n=>{this.definitions[n]=i(i({},this.definitions[n]||{}),e[n]),N1(n,e[n]);let o=T1[p][n];o&&N1(o,e[n]),R2()})}reset(){this.definitions={}}_pullDefinitions(l,a){let s=a.prefix&&a.iconName&&a.icon?{0:a}:a;return Object.keys(s).map(e=>{let{prefix:n,iconName:o,icon:f}=s[e],z=f[2];l[n]||(l[n]={}),z.length>0&&z.forEach(r=>{typeof r=="string"&&(l[n][r]=f)}),l[n][o]=f}),l}},$1=[],E={},O={},q4=Object.keys(O);function B4(c,l){let{mixoutsTo:a}=l;return $1=c,E={},Object.keys(O).forEach(s=>{q4.indexOf(s)===-1&&delete O[s]}),$1.forEach(s=>{let e=s.mixout?s.mixout():{};if(Object.keys(e).forEach(n=>{typeof e[n]=="function"&&(a[n]=e[n]),typeof e[n]=="object"&&Object.keys(e[n]).forEach(o=>{a[n]||(a[n]={}),a[n][o]=e[n][o]})}),s.hooks){let n=s.hooks();Object.keys(n).forEach(o=>{E[o]||(E[o]=[]),E[o].push(n[o])})}s.provides&&s.provides(O)}),a}function g1(c,l){for(var a=arguments.length,s=new Array(a>2?a-2:0),e=2;e<a;e++)s[e-2]=arguments[e];return(E[c]||[]).forEach(o=>{l=o.apply(null,[l,...s])}),l}function B(c){for(var l=arguments.length,a=new Array(l>1?l-1:0),s=1;s<l;s++)a[s-1]=arguments[s];(E[c]||[]).forEach(n=>{n.apply(null,a)})}function P(){let c=arguments[0],l=Array.prototype.slice.call(arguments,1);return O[c]?O[c].apply(null,l):void 0}function v1(c){c.prefix==="fa"&&(c.prefix="fas");let{iconName:l}=c,a=c.prefix||y();if(l)return l=F(a,l)||l,K1(Z2.definitions,a,l)||K1(g.styles,a,l)}var Z2=new b1,D4=()=>{t.autoReplaceSvg=!1,t.observeMutations=!1,B("noAuto")},R4={i2svg:function(){let c=arguments.length>0&&arguments[0]!==void 0?arguments[0]:{};return k?(B("beforeI2svg",c),P("pseudoElements2svg",c),P("i2svg",c)):Promise.reject(new Error("Operation requires a DOM of some kind."))},watch:function(){let c=arguments.length>0&&arguments[0]!==void 0?arguments[0]:{},{autoReplaceSvgRoot:l}=c;t.autoReplaceSvg===!1&&(t.autoReplaceSvg=!0),t.observeMutations=!0,d4(()=>{O4({autoReplaceSvgRoot:l}),B("watch",c)})}},E4={icon:c=>{if(c===null)return null;if(typeof c=="object"&&c.prefix&&c.iconName)return{prefix:c.prefix,iconName:F(c.prefix,c.iconName)||c.iconName};if(Array.isArray(c)&&c.length===2){let l=c[1].indexOf("fa-")===0?c[1].slice(3):c[1],a=e1(c[0]);return{prefix:a,iconName:F(a,l)||l}}if(typeof c=="string"&&(c.indexOf("".concat(t.cssPrefix,"-"))>-1||c.match(e4))){let l=n1(c.split(" "),{skipLookups:!0});return{prefix:l.prefix||y(),iconName:F(l.prefix,l.iconName)||l.iconName}}if(typeof c=="string"){let l=y();return{prefix:l,iconName:F(l,c)||c}}}},d={noAuto:D4,config:t,dom:R4,parse:E4,library:Z2,findIconDefinition:v1,toHtml:X},O4=function(){let c=arguments.length>0&&arguments[0]!==void 0?arguments[0]:{},{autoReplaceSvgRoot:l=C}=c;(Object.keys(g.styles).length>0||t.autoFetchSvg)&&k&&t.autoReplaceSvg&&d.dom.i2svg({node:l})};function o1(c,l){return Object.defineProperty(c,"abstract",{get:l}),Object.defineProperty(c,"html",{get:function(){return c.abstract.map(a=>X(a))}}),Object.defineProperty(c,"node",{get:function(){if(!k)return;let a=C.createElement("div");return a.innerHTML=c.html,a.children}}),c}function Z4(c){let{children:l,main:a,mask:s,attributes:e,styles:n,transform:o}=c;if(q1(o)&&a.found&&!s.found){let{width:f,height:z}=a,r={x:f/z/2,y:.5};e.style=s1(i(i({},n),{},{"transform-origin":"".concat(r.x+o.x/16,"em ").concat(r.y+o.y/16,"em")}))}return[{tag:"svg",attributes:e,children:l}]}function I4(c){let{prefix:l,iconName:a,children:s,attributes:e,symbol:n}=c,o=n===!0?"".concat(l,"-").concat(t.cssPrefix,"-").concat(a):n;return[{tag:"svg",attributes:{style:"display: none;"},children:[{tag:"symbol",attributes:i(i({},e),{},{id:o}),children:s}]}]}function R1(c){let{icons:{main:l,mask:a},prefix:s,iconName:e,transform:n,symbol:o,title:f,maskId:z,titleId:r,extra:m,watchable:M=!1}=c,{width:L,height:h}=a.found?a:l,A=I3.includes(s),T=[t.replacementClass,e?"".concat(t.cssPrefix,"-").concat(e):""].filter(R=>m.classes.indexOf(R)===-1).filter(R=>R!==""||!!R).concat(m.classes).join(" "),x={children:[],attributes:i(i({},m.attributes),{},{"data-prefix":s,"data-icon":e,class:T,role:m.attributes.role||"img",xmlns:"http://www.w3.org/2000/svg",viewBox:"0 0 ".concat(L," ").concat(h)})},v=A&&!~m.classes.indexOf("fa-fw")?{width:"".concat(L/h*16*.0625,"em")}:{};M&&(x.attributes[q]=""),f&&(x.children.push({tag:"title",attributes:{id:x.attributes["aria-labelledby"]||"title-".concat(r||_())},children:[f]}),delete x.attributes.title);let u=i(i({},x),{},{prefix:s,iconName:e,main:l,mask:a,maskId:z,transform:n,symbol:o,styles:i(i({},v),m.styles)}),{children:N,attributes:D}=a.found&&l.found?P("generateAbstractMask",u)||{children:[],attributes:{}}:P("generateAbstractIcon",u)||{children:[],attributes:{}};return u.children=N,u.attributes=D,o?I4(u):Z4(u)}function c2(c){let{content:l,width:a,height:s,transform:e,title:n,extra:o,watchable:f=!1}=c,z=i(i(i({},o.attributes),n?{title:n}:{}),{},{class:o.classes.join(" ")});f&&(z[q]="");let r=i({},o.styles);q1(e)&&(r.transform=p4({transform:e,startCentered:!0,width:a,height:s}),r["-webkit-transform"]=r.transform);let m=s1(r);m.length>0&&(z.style=m);let M=[];return M.push({tag:"span",attributes:z,children:[l]}),n&&M.push({tag:"span",attributes:{class:"sr-only"},children:[n]}),M}function U4(c){let{content:l,title:a,extra:s}=c,e=i(i(i({},s.attributes),a?{title:a}:{}),{},{class:s.classes.join(" ")}),n=s1(s.styles);n.length>0&&(e.style=n);let o=[];return o.push({tag:"span",attributes:e,children:[l]}),a&&o.push({tag:"span",attributes:{class:"sr-only"},children:[a]}),o}var{styles:z1}=g;function S1(c){let l=c[0],a=c[1],[s]=c.slice(4),e=null;return Array.isArray(s)?e={tag:"g",attributes:{class:"".concat(t.cssPrefix,"-").concat(f1.GROUP)},children:[{tag:"path",attributes:{class:"".concat(t.cssPrefix,"-").concat(f1.SECONDARY),fill:"currentColor",d:s[0]}},{tag:"path",attributes:{class:"".concat(t.cssPrefix,"-").concat(f1.PRIMARY),fill:"currentColor",d:s[1]}}]}:e={tag:"path",attributes:{fill:"currentColor",d:s}},{found:!0,width:l,height:a,icon:e}}var G4={found:!1,width:512,height:512};function W4(c,l){!v2&&!t.showMissingIcons&&c&&console.error('Icon with name "'.concat(c,'" and prefix "').concat(l,'" is missing.'))}function H1(c,l){let a=l;return l==="fa"&&t.styleDefault!==null&&(l=y()),new Promise((s,e)=>{if(a==="fa"){let n=E2(c)||{};c=n.iconName||c,l=n.prefix||l}if(c&&l&&z1[l]&&z1[l][c]){let n=z1[l][c];return s(S1(n))}W4(c,l),s(i(i({},G4),{},{icon:t.showMissingIcons&&c?P("missingIconAbstract")||{}:{}}))})}var l2=()=>{},k1=t.measurePerformance&&K&&K.mark&&K.measure?K:{mark:l2,measure:l2},U='FA "6.7.2"',_4=c=>(k1.mark("".concat(U," ").concat(c," begins")),()=>I2(c)),I2=c=>{k1.mark("".concat(U," ").concat(c," ends")),k1.measure("".concat(U," ").concat(c),"".concat(U," ").concat(c," begins"),"".concat(U," ").concat(c," ends"))},E1={begin:_4,end:I2},J=()=>{};function a2(c){return typeof(c.getAttribute?c.getAttribute(q):null)=="string"}function j4(c){let l=c.getAttribute?c.getAttribute(y1):null,a=c.getAttribute?c.getAttribute(P1):null;return l&&a}function Y4(c){return c&&c.classList&&c.classList.contains&&c.classList.contains(t.replacementClass)}function X4(){return t.autoReplaceSvg===!0?$.replace:$[t.autoReplaceSvg]||$.replace}function K4(c){return C.createElementNS("http://www.w3.org/2000/svg",c)}function Q4(c){return C.createElement(c)}function U2(c){let l=arguments.length>1&&arguments[1]!==void 0?arguments[1]:{},{ceFn:a=c.tag==="svg"?K4:Q4}=l;if(typeof c=="string")return C.createTextNode(c);let s=a(c.tag);return Object.keys(c.attributes||[]).forEach(function(n){s.setAttribute(n,c.attributes[n])}),(c.children||[]).forEach(function(n){s.appendChild(U2(n,{ceFn:a}))}),s}function J4(c){let l=" ".concat(c.outerHTML," ");return l="".concat(l,"Font Awesome fontawesome.com "),l}var $={replace:function(c){let l=c[0];if(l.parentNode)if(c[1].forEach(a=>{l.parentNode.insertBefore(U2(a),l)}),l.getAttribute(q)===null&&t.keepOriginalSource){let a=C.createComment(J4(l));l.parentNode.replaceChild(a,l)}else l.remove()},nest:function(c){let l=c[0],a=c[1];if(~F1(l).indexOf(t.replacementClass))return $.replace(c);let s=new RegExp("".concat(t.cssPrefix,"-.*"));if(delete a[0].attributes.id,a[0].attributes.class){let n=a[0].attributes.class.split(" ").reduce((o,f)=>(f===t.replacementClass||f.match(s)?o.toSvg.push(f):o.toNode.push(f),o),{toNode:[],toSvg:[]});a[0].attributes.class=n.toSvg.join(" "),n.toNode.length===0?l.removeAttribute("class"):l.setAttribute("class",n.toNode.join(" "))}let e=a.map(n=>X(n)).join(`
`);l.setAttribute(q,""),l.innerHTML=e}};function s2(c){c()}function G2(c,l){let a=typeof l=="function"?l:J;if(c.length===0)a();else{let s=s2;t.mutateApproach===l4&&(s=V.requestAnimationFrame||s2),s(()=>{let e=X4(),n=E1.begin("mutate");c.map(e),n(),a()})}}var O1=!1;function W2(){O1=!0}function A1(){O1=!1}var l1=null;function e2(c){if(!G1||!t.observeMutations)return;let{treeCallback:l=J,nodeCallback:a=J,pseudoElementsCallback:s=J,observeMutationsRoot:e=C}=c;l1=new G1(n=>{if(O1)return;let o=y();I(n).forEach(f=>{if(f.type==="childList"&&f.addedNodes.length>0&&!a2(f.addedNodes[0])&&(t.searchPseudoElements&&s(f.target),l(f.target)),f.type==="attributes"&&f.target.parentNode&&t.searchPseudoElements&&s(f.target.parentNode),f.type==="attributes"&&a2(f.target)&&~i4.indexOf(f.attributeName))if(f.attributeName==="class"&&j4(f.target)){let{prefix:z,iconName:r}=n1(F1(f.target));f.target.setAttribute(y1,z||o),r&&f.target.setAttribute(P1,r)}else Y4(f.target)&&a(f.target)})}),k&&l1.observe(e,{childList:!0,attributes:!0,characterData:!0,subtree:!0})}function $4(){l1&&l1.disconnect()}function c0(c){let l=c.getAttribute("style"),a=[];return l&&(a=l.split(";").reduce((s,e)=>{let n=e.split(":"),o=n[0],f=n.slice(1);return o&&f.length>0&&(s[o]=f.join(":").trim()),s},{})),a}function l0(c){let l=c.getAttribute("data-prefix"),a=c.getAttribute("data-icon"),s=c.innerText!==void 0?c.innerText.trim():"",e=n1(F1(c));return e.prefix||(e.prefix=y()),l&&a&&(e.prefix=l,e.iconName=a),e.iconName&&e.prefix||(e.prefix&&s.length>0&&(e.iconName=k4(e.prefix,c.innerText)||D1(e.prefix,x1(c.innerText))),!e.iconName&&t.autoFetchSvg&&c.firstChild&&c.firstChild.nodeType===Node.TEXT_NODE&&(e.iconName=c.firstChild.data)),e}function a0(c){let l=I(c.attributes).reduce((e,n)=>(e.name!=="class"&&e.name!=="style"&&(e[n.name]=n.value),e),{}),a=c.getAttribute("title"),s=c.getAttribute("data-fa-title-id");return t.autoA11y&&(a?l["aria-labelledby"]="".concat(t.replacementClass,"-title-").concat(s||_()):(l["aria-hidden"]="true",l.focusable="false")),l}function s0(){return{iconName:null,title:null,titleId:null,prefix:null,transform:b,symbol:!1,mask:{iconName:null,prefix:null,rest:[]},maskId:null,extra:{classes:[],styles:{},attributes:{}}}}function n2(c){let l=arguments.length>1&&arguments[1]!==void 0?arguments[1]:{styleParser:!0},{iconName:a,prefix:s,rest:e}=l0(c),n=a0(c),o=g1("parseNodeAttributes",{},c),f=l.styleParser?c0(c):[];return i({iconName:a,title:c.getAttribute("title"),titleId:c.getAttribute("data-fa-title-id"),prefix:s,transform:b,mask:{iconName:null,prefix:null,rest:[]},maskId:null,symbol:!1,extra:{classes:e,styles:f,attributes:n}},o)}var{styles:e0}=g;function _2(c){let l=t.autoReplaceSvg==="nest"?n2(c,{styleParser:!1}):n2(c);return~l.extra.classes.indexOf(H2)?P("generateLayersText",c,l):P("generateSvgReplacementMutation",c,l)}function n0(){return[...E3,...M1]}function o2(c){let l=arguments.length>1&&arguments[1]!==void 0?arguments[1]:null;if(!k)return Promise.resolve();let a=C.documentElement.classList,s=m=>a.add("".concat(j1,"-").concat(m)),e=m=>a.remove("".concat(j1,"-").concat(m)),n=t.autoFetchSvg?n0():d2.concat(Object.keys(e0));n.includes("fa")||n.push("fa");let o=[".".concat(H2,":not([").concat(q,"])")].concat(n.map(m=>".".concat(m,":not([").concat(q,"])"))).join(", ");if(o.length===0)return Promise.resolve();let f=[];try{f=I(c.querySelectorAll(o))}catch(m){}if(f.length>0)s("pending"),e("complete");else return Promise.resolve();let z=E1.begin("onTree"),r=f.reduce((m,M)=>{try{let L=_2(M);L&&m.push(L)}catch(L){v2||L.name==="MissingIcon"&&console.error(L)}return m},[]);return new Promise((m,M)=>{Promise.all(r).then(L=>{G2(L,()=>{s("active"),s("complete"),e("pending"),typeof l=="function"&&l(),z(),m()})}).catch(L=>{z(),M(L)})})}function o0(c){let l=arguments.length>1&&arguments[1]!==void 0?arguments[1]:null;_2(c).then(a=>{a&&G2([a],l)})}function i0(c){return function(l){let a=arguments.length>1&&arguments[1]!==void 0?arguments[1]:{},s=(l||{}).icon?l:v1(l||{}),{mask:e}=a;return e&&(e=(e||{}).icon?e:v1(e||{})),c(s,i(i({},a),{},{mask:e}))}}var f0=function(c){let l=arguments.length>1&&arguments[1]!==void 0?arguments[1]:{},{transform:a=b,symbol:s=!1,mask:e=null,maskId:n=null,title:o=null,titleId:f=null,classes:z=[],attributes:r={},styles:m={}}=l;if(!c)return;let{prefix:M,iconName:L,icon:h}=c;return o1(i({type:"icon"},c),()=>(B("beforeDOMElementCreation",{iconDefinition:c,params:l}),t.autoA11y&&(o?r["aria-labelledby"]="".concat(t.replacementClass,"-title-").concat(f||_()):(r["aria-hidden"]="true",r.focusable="false")),R1({icons:{main:S1(h),mask:e?S1(e.icon):{found:!1,width:null,height:null,icon:{}}},prefix:M,iconName:L,transform:i(i({},b),a),symbol:s,title:o,maskId:n,titleId:f,extra:{attributes:r,styles:m,classes:z}})))},t0={mixout(){return{icon:i0(f0)}},hooks(){return{mutationObserverCallbacks(c){return c.treeCallback=o2,c.nodeCallback=o0,c}}},provides(c){c.i2svg=function(l){let{node:a=C,callback:s=()=>{}}=l;return o2(a,s)},c.generateSvgReplacementMutation=function(l,a){let{iconName:s,title:e,titleId:n,prefix:o,transform:f,symbol:z,mask:r,maskId:m,extra:M}=a;return new Promise((L,h)=>{Promise.all([H1(s,o),r.iconName?H1(r.iconName,r.prefix):Promise.resolve({found:!1,width:512,height:512,icon:{}})]).then(A=>{let[T,x]=A;L([l,R1({icons:{main:T,mask:x},prefix:o,iconName:s,transform:f,symbol:z,maskId:m,title:e,titleId:n,extra:M,watchable:!0})])}).catch(h)})},c.generateAbstractIcon=function(l){let{children:a,attributes:s,main:e,transform:n,styles:o}=l,f=s1(o);f.length>0&&(s.style=f);let z;return q1(n)&&(z=P("generateAbstractTransformGrouping",{main:e,transform:n,containerWidth:e.width,iconWidth:e.width})),a.push(z||e.icon),{children:a,attributes:s}}}},r0={mixout(){return{layer(c){let l=arguments.length>1&&arguments[1]!==void 0?arguments[1]:{},{classes:a=[]}=l;return o1({type:"layer"},()=>{B("beforeDOMElementCreation",{assembler:c,params:l});let s=[];return c(e=>{Array.isArray(e)?e.map(n=>{s=s.concat(n.abstract)}):s=s.concat(e.abstract)}),[{tag:"span",attributes:{class:["".concat(t.cssPrefix,"-layers"),...a].join(" ")},children:s}]})}}}},z0={mixout(){return{counter(c){let l=arguments.length>1&&arguments[1]!==void 0?arguments[1]:{},{title:a=null,classes:s=[],attributes:e={},styles:n={}}=l;return o1({type:"counter",content:c},()=>(B("beforeDOMElementCreation",{content:c,params:l}),U4({content:c.toString(),title:a,extra:{attributes:e,styles:n,classes:["".concat(t.cssPrefix,"-layers-counter"),...s]}})))}}}},m0={mixout(){return{text(c){let l=arguments.length>1&&arguments[1]!==void 0?arguments[1]:{},{transform:a=b,title:s=null,classes:e=[],attributes:n={},styles:o={}}=l;return o1({type:"text",content:c},()=>(B("beforeDOMElementCreation",{content:c,params:l}),c2({content:c,transform:i(i({},b),a),title:s,extra:{attributes:n,styles:o,classes:["".concat(t.cssPrefix,"-layers-text"),...e]}})))}}},provides(c){c.generateLayersText=function(l,a){let{title:s,transform:e,extra:n}=a,o=null,f=null;if(h2){let z=parseInt(getComputedStyle(l).fontSize,10),r=l.getBoundingClientRect();o=r.width/z,f=r.height/z}return t.autoA11y&&!s&&(n.attributes["aria-hidden"]="true"),Promise.resolve([l,c2({content:l.innerHTML,width:o,height:f,transform:e,title:s,extra:n,watchable:!0})])}}},L0=new RegExp('"',"ug"),i2=[1105920,1112319],f2=i(i(i(i({},{FontAwesome:{normal:"fas",400:"fas"}}),B3),$3),_3),w1=Object.keys(f2).reduce((c,l)=>(c[l.toLowerCase()]=f2[l],c),{}),M0=Object.keys(w1).reduce((c,l)=>{let a=w1[l];return c[l]=a[900]||[...Object.entries(a)][0][1],c},{});function C0(c){let l=c.replace(L0,""),a=b4(l,0),s=a>=i2[0]&&a<=i2[1],e=l.length===2?l[0]===l[1]:!1;return{value:x1(e?l[0]:l),isSecondary:s||e}}function p0(c,l){let a=c.replace(/^['"]|['"]$/g,"").toLowerCase(),s=parseInt(l),e=isNaN(s)?"normal":s;return(w1[a]||{})[e]||M0[a]}function t2(c,l){let a="".concat(c4).concat(l.replace(":","-"));return new Promise((s,e)=>{if(c.getAttribute(a)!==null)return s();let o=I(c.children).filter(L=>L.getAttribute(p1)===l)[0],f=V.getComputedStyle(c,l),z=f.getPropertyValue("font-family"),r=z.match(n4),m=f.getPropertyValue("font-weight"),M=f.getPropertyValue("content");if(o&&!r)return c.removeChild(o),s();if(r&&M!=="none"&&M!==""){let L=f.getPropertyValue("content"),h=p0(z,m),{value:A,isSecondary:T}=C0(L),x=r[0].startsWith("FontAwesome"),v=D1(h,A),u=v;if(x){let N=A4(A);N.iconName&&N.prefix&&(v=N.iconName,h=N.prefix)}if(v&&!T&&(!o||o.getAttribute(y1)!==h||o.getAttribute(P1)!==u)){c.setAttribute(a,u),o&&c.removeChild(o);let N=s0(),{extra:D}=N;D.attributes[p1]=l,H1(v,h).then(R=>{let S3=R1(i(i({},N),{},{icons:{main:R,mask:O2()},prefix:h,iconName:u,extra:D,watchable:!0})),i1=C.createElementNS("http://www.w3.org/2000/svg","svg");l==="::before"?c.insertBefore(i1,c.firstChild):c.appendChild(i1),i1.outerHTML=S3.map(H3=>X(H3)).join(`
`),c.removeAttribute(a),s()}).catch(e)}else s()}else s()})}function h0(c){return Promise.all([t2(c,"::before"),t2(c,"::after")])}function u0(c){return c.parentNode!==document.head&&!~a4.indexOf(c.tagName.toUpperCase())&&!c.getAttribute(p1)&&(!c.parentNode||c.parentNode.tagName!=="svg")}function r2(c){if(k)return new Promise((l,a)=>{let s=I(c.querySelectorAll("*")).filter(u0).map(h0),e=E1.begin("searchPseudoElements");W2(),Promise.all(s).then(()=>{e(),A1(),l()}).catch(()=>{e(),A1(),a()})})}var d0={hooks(){return{mutationObserverCallbacks(c){return c.pseudoElementsCallback=r2,c}}},provides(c){c.pseudoElements2svg=function(l){let{node:a=C}=l;t.searchPseudoElements&&r2(a)}}},z2=!1,x0={mixout(){return{dom:{unwatch(){W2(),z2=!0}}}},hooks(){return{bootstrap(){e2(g1("mutationObserverCallbacks",{}))},noAuto(){$4()},watch(c){let{observeMutationsRoot:l}=c;z2?A1():e2(g1("mutationObserverCallbacks",{observeMutationsRoot:l}))}}}},m2=c=>{let l={size:16,x:0,y:0,flipX:!1,flipY:!1,rotate:0};return c.toLowerCase().split(" ").reduce((a,s)=>{let e=s.toLowerCase().split("-"),n=e[0],o=e.slice(1).join("-");if(n&&o==="h")return a.flipX=!0,a;if(n&&o==="v")return a.flipY=!0,a;if(o=parseFloat(o),isNaN(o))return a;switch(n){case"grow":a.size=a.size+o;break;case"shrink":a.size=a.size-o;break;case"left":a.x=a.x-o;break;case"right":a.x=a.x+o;break;case"up":a.y=a.y-o;break;case"down":a.y=a.y+o;break;case"rotate":a.rotate=a.rotate+o;break}return a},l)},N0={mixout(){return{parse:{transform:c=>m2(c)}}},hooks(){return{parseNodeAttributes(c,l){let a=l.getAttribute("data-fa-transform");return a&&(c.transform=m2(a)),c}}},provides(c){c.generateAbstractTransformGrouping=function(l){let{main:a,transform:s,containerWidth:e,iconWidth:n}=l,o={transform:"translate(".concat(e/2," 256)")},f="translate(".concat(s.x*32,", ").concat(s.y*32,") "),z="scale(".concat(s.size/16*(s.flipX?-1:1),", ").concat(s.size/16*(s.flipY?-1:1),") "),r="rotate(".concat(s.rotate," 0 0)"),m={transform:"".concat(f," ").concat(z," ").concat(r)},M={transform:"translate(".concat(n/2*-1," -256)")},L={outer:o,inner:m,path:M};return{tag:"g",attributes:i({},L.outer),children:[{tag:"g",attributes:i({},L.inner),children:[{tag:a.icon.tag,children:a.icon.children,attributes:i(i({},a.icon.attributes),L.path)}]}]}}}},m1={x:0,y:0,width:"100%",height:"100%"};function L2(c){let l=arguments.length>1&&arguments[1]!==void 0?arguments[1]:!0;return c.attributes&&(c.attributes.fill||l)&&(c.attributes.fill="black"),c}function b0(c){return c.tag==="g"?c.children:[c]}var g0={hooks(){return{parseNodeAttributes(c,l){let a=l.getAttribute("data-fa-mask"),s=a?n1(a.split(" ").map(e=>e.trim())):O2();return s.prefix||(s.prefix=y()),c.mask=s,c.maskId=l.getAttribute("data-fa-mask-id"),c}}},provides(c){c.generateAbstractMask=function(l){let{children:a,attributes:s,main:e,mask:n,maskId:o,transform:f}=l,{width:z,icon:r}=e,{width:m,icon:M}=n,L=C4({transform:f,containerWidth:m,iconWidth:z}),h={tag:"rect",attributes:i(i({},m1),{},{fill:"white"})},A=r.children?{children:r.children.map(L2)}:{},T={tag:"g",attributes:i({},L.inner),children:[L2(i({tag:r.tag,attributes:i(i({},r.attributes),L.path)},A))]},x={tag:"g",attributes:i({},L.outer),children:[T]},v="mask-".concat(o||_()),u="clip-".concat(o||_()),N={tag:"mask",attributes:i(i({},m1),{},{id:v,maskUnits:"userSpaceOnUse",maskContentUnits:"userSpaceOnUse"}),children:[h,x]},D={tag:"defs",children:[{tag:"clipPath",attributes:{id:u},children:b0(M)},N]};return a.push(D,{tag:"rect",attributes:i({fill:"currentColor","clip-path":"url(#".concat(u,")"),mask:"url(#".concat(v,")")},m1)}),{children:a,attributes:s}}}},v0={provides(c){let l=!1;V.matchMedia&&(l=V.matchMedia("(prefers-reduced-motion: reduce)").matches),c.missingIconAbstract=function(){let a=[],s={fill:"currentColor"},e={attributeType:"XML",repeatCount:"indefinite",dur:"2s"};a.push({tag:"path",attributes:i(i({},s),{},{d:"M156.5,447.7l-12.6,29.5c-18.7-9.5-35.9-21.2-51.5-34.9l22.7-22.7C127.6,430.5,141.5,440,156.5,447.7z M40.6,272H8.5 c1.4,21.2,5.4,41.7,11.7,61.1L50,321.2C45.1,305.5,41.8,289,40.6,272z M40.6,240c1.4-18.8,5.2-37,11.1-54.1l-29.5-12.6 C14.7,194.3,10,216.7,8.5,240H40.6z M64.3,156.5c7.8-14.9,17.2-28.8,28.1-41.5L69.7,92.3c-13.7,15.6-25.5,32.8-34.9,51.5 L64.3,156.5z M397,419.6c-13.9,12-29.4,22.3-46.1,30.4l11.9,29.8c20.7-9.9,39.8-22.6,56.9-37.6L397,419.6z M115,92.4 c13.9-12,29.4-22.3,46.1-30.4l-11.9-29.8c-20.7,9.9-39.8,22.6-56.8,37.6L115,92.4z M447.7,355.5c-7.8,14.9-17.2,28.8-28.1,41.5 l22.7,22.7c13.7-15.6,25.5-32.9,34.9-51.5L447.7,355.5z M471.4,272c-1.4,18.8-5.2,37-11.1,54.1l29.5,12.6 c7.5-21.1,12.2-43.5,13.6-66.8H471.4z M321.2,462c-15.7,5-32.2,8.2-49.2,9.4v32.1c21.2-1.4,41.7-5.4,61.1-11.7L321.2,462z M240,471.4c-18.8-1.4-37-5.2-54.1-11.1l-12.6,29.5c21.1,7.5,43.5,12.2,66.8,13.6V471.4z M462,190.8c5,15.7,8.2,32.2,9.4,49.2h32.1 c-1.4-21.2-5.4-41.7-11.7-61.1L462,190.8z M92.4,397c-12-13.9-22.3-29.4-30.4-46.1l-29.8,11.9c9.9,20.7,22.6,39.8,37.6,56.9 L92.4,397z M272,40.6c18.8,1.4,36.9,5.2,54.1,11.1l12.6-29.5C317.7,14.7,295.3,10,272,8.5V40.6z M190.8,50 c15.7-5,32.2-8.2,49.2-9.4V8.5c-21.2,1.4-41.7,5.4-61.1,11.7L190.8,50z M442.3,92.3L419.6,115c12,13.9,22.3,29.4,30.5,46.1 l29.8-11.9C470,128.5,457.3,109.4,442.3,92.3z M397,92.4l22.7-22.7c-15.6-13.7-32.8-25.5-51.5-34.9l-12.6,29.5 C370.4,72.1,384.4,81.5,397,92.4z"})});let n=i(i({},e),{},{attributeName:"opacity"}),o={tag:"circle",attributes:i(i({},s),{},{cx:"256",cy:"364",r:"28"}),children:[]};return l||o.children.push({tag:"animate",attributes:i(i({},e),{},{attributeName:"r",values:"28;14;28;28;14;28;"})},{tag:"animate",attributes:i(i({},n),{},{values:"1;0;1;1;0;1;"})}),a.push(o),a.push({tag:"path",attributes:i(i({},s),{},{opacity:"1",d:"M263.7,312h-16c-6.6,0-12-5.4-12-12c0-71,77.4-63.9,77.4-107.8c0-20-17.8-40.2-57.4-40.2c-29.1,0-44.3,9.6-59.2,28.7 c-3.9,5-11.1,6-16.2,2.4l-13.1-9.2c-5.6-3.9-6.9-11.8-2.6-17.2c21.2-27.2,46.4-44.7,91.2-44.7c52.3,0,97.4,29.8,97.4,80.2 c0,67.6-77.4,63.5-77.4,107.8C275.7,306.6,270.3,312,263.7,312z"}),children:l?[]:[{tag:"animate",attributes:i(i({},n),{},{values:"1;0;0;0;0;1;"})}]}),l||a.push({tag:"path",attributes:i(i({},s),{},{opacity:"0",d:"M232.5,134.5l7,168c0.3,6.4,5.6,11.5,12,11.5h9c6.4,0,11.7-5.1,12-11.5l7-168c0.3-6.8-5.2-12.5-12-12.5h-23 C237.7,122,232.2,127.7,232.5,134.5z"}),children:[{tag:"animate",attributes:i(i({},n),{},{values:"0;0;1;1;0;0;"})}]}),{tag:"g",attributes:{class:"missing"},children:a}}}},S0={hooks(){return{parseNodeAttributes(c,l){let a=l.getAttribute("data-fa-symbol"),s=a===null?!1:a===""?!0:a;return c.symbol=s,c}}}},H0=[u4,t0,r0,z0,m0,d0,x0,N0,g0,v0,S0];B4(H0,{mixoutsTo:d});var V0=d.noAuto,j2=d.config,Y2=d.library,X2=d.dom,y0=d.parse,P0=d.findIconDefinition,T0=d.toHtml,F0=d.icon,q0=d.layer,B0=d.text,D0=d.counter;/*!
 * Font Awesome Free 6.7.2 by @fontawesome - https://fontawesome.com
 * License - https://fontawesome.com/license/free (Icons: CC BY 4.0, Fonts: SIL OFL 1.1, Code: MIT License)
 * Copyright 2024 Fonticons, Inc.
 */var K2={prefix:"fas",iconName:"bars",icon:[448,512,["navicon"],"f0c9","M0 96C0 78.3 14.3 64 32 64l384 0c17.7 0 32 14.3 32 32s-14.3 32-32 32L32 128C14.3 128 0 113.7 0 96zM0 256c0-17.7 14.3-32 32-32l384 0c17.7 0 32 14.3 32 32s-14.3 32-32 32L32 288c-17.7 0-32-14.3-32-32zM448 416c0 17.7-14.3 32-32 32L32 448c-17.7 0-32-14.3-32-32s14.3-32 32-32l384 0c17.7 0 32 14.3 32 32z"]};var Q2={prefix:"fas",iconName:"lightbulb",icon:[384,512,[128161],"f0eb","M272 384c9.6-31.9 29.5-59.1 49.2-86.2c0 0 0 0 0 0c5.2-7.1 10.4-14.2 15.4-21.4c19.8-28.5 31.4-63 31.4-100.3C368 78.8 289.2 0 192 0S16 78.8 16 176c0 37.3 11.6 71.9 31.4 100.3c5 7.2 10.2 14.3 15.4 21.4c0 0 0 0 0 0c19.8 27.1 39.7 54.4 49.2 86.2l160 0zM192 512c44.2 0 80-35.8 80-80l0-16-160 0 0 16c0 44.2 35.8 80 80 80zM112 176c0 8.8-7.2 16-16 16s-16-7.2-16-16c0-61.9 50.1-112 112-112c8.8 0 16 7.2 16 16s-7.2 16-16 16c-44.2 0-80 35.8-80 80z"]};var J2={prefix:"fas",iconName:"compress",icon:[448,512,[],"f066","M160 64c0-17.7-14.3-32-32-32s-32 14.3-32 32l0 64-64 0c-17.7 0-32 14.3-32 32s14.3 32 32 32l96 0c17.7 0 32-14.3 32-32l0-96zM32 320c-17.7 0-32 14.3-32 32s14.3 32 32 32l64 0 0 64c0 17.7 14.3 32 32 32s32-14.3 32-32l0-96c0-17.7-14.3-32-32-32l-96 0zM352 64c0-17.7-14.3-32-32-32s-32 14.3-32 32l0 96c0 17.7 14.3 32 32 32l96 0c17.7 0 32-14.3 32-32s-14.3-32-32-32l-64 0 0-64zM320 320c-17.7 0-32 14.3-32 32l0 96c0 17.7 14.3 32 32 32s32-14.3 32-32l0-64 64 0c17.7 0 32-14.3 32-32s-14.3-32-32-32l-96 0z"]};var $2={prefix:"fas",iconName:"list",icon:[512,512,["list-squares"],"f03a","M40 48C26.7 48 16 58.7 16 72l0 48c0 13.3 10.7 24 24 24l48 0c13.3 0 24-10.7 24-24l0-48c0-13.3-10.7-24-24-24L40 48zM192 64c-17.7 0-32 14.3-32 32s14.3 32 32 32l288 0c17.7 0 32-14.3 32-32s-14.3-32-32-32L192 64zm0 160c-17.7 0-32 14.3-32 32s14.3 32 32 32l288 0c17.7 0 32-14.3 32-32s-14.3-32-32-32l-288 0zm0 160c-17.7 0-32 14.3-32 32s14.3 32 32 32l288 0c17.7 0 32-14.3 32-32s-14.3-32-32-32l-288 0zM16 232l0 48c0 13.3 10.7 24 24 24l48 0c13.3 0 24-10.7 24-24l0-48c0-13.3-10.7-24-24-24l-48 0c-13.3 0-24 10.7-24 24zM40 368c-13.3 0-24 10.7-24 24l0 48c0 13.3 10.7 24 24 24l48 0c13.3 0 24-10.7 24-24l0-48c0-13.3-10.7-24-24-24l-48 0z"]};var c3={prefix:"fas",iconName:"chevron-up",icon:[512,512,[],"f077","M233.4 105.4c12.5-12.5 32.8-12.5 45.3 0l192 192c12.5 12.5 12.5 32.8 0 45.3s-32.8 12.5-45.3 0L256 173.3 86.6 342.6c-12.5 12.5-32.8 12.5-45.3 0s-12.5-32.8 0-45.3l192-192z"]};var l3={prefix:"fas",iconName:"angle-right",icon:[320,512,[8250],"f105","M278.6 233.4c12.5 12.5 12.5 32.8 0 45.3l-160 160c-12.5 12.5-32.8 12.5-45.3 0s-12.5-32.8 0-45.3L210.7 256 73.4 118.6c-12.5-12.5-12.5-32.8 0-45.3s32.8-12.5 45.3 0l160 160z"]};var a3={prefix:"fas",iconName:"code",icon:[640,512,[],"f121","M392.8 1.2c-17-4.9-34.7 5-39.6 22l-128 448c-4.9 17 5 34.7 22 39.6s34.7-5 39.6-22l128-448c4.9-17-5-34.7-22-39.6zm80.6 120.1c-12.5 12.5-12.5 32.8 0 45.3L562.7 256l-89.4 89.4c-12.5 12.5-12.5 32.8 0 45.3s32.8 12.5 45.3 0l112-112c12.5-12.5 12.5-32.8 0-45.3l-112-112c-12.5-12.5-32.8-12.5-45.3 0zm-306.7 0c-12.5-12.5-32.8-12.5-45.3 0l-112 112c-12.5 12.5-12.5 32.8 0 45.3l112 112c12.5 12.5 32.8 12.5 45.3 0s12.5-32.8 0-45.3L77.3 256l89.4-89.4c12.5-12.5 12.5-32.8 0-45.3z"]};var s3={prefix:"fas",iconName:"file-pdf",icon:[512,512,[],"f1c1","M0 64C0 28.7 28.7 0 64 0L224 0l0 128c0 17.7 14.3 32 32 32l128 0 0 144-208 0c-35.3 0-64 28.7-64 64l0 144-48 0c-35.3 0-64-28.7-64-64L0 64zm384 64l-128 0L256 0 384 128zM176 352l32 0c30.9 0 56 25.1 56 56s-25.1 56-56 56l-16 0 0 32c0 8.8-7.2 16-16 16s-16-7.2-16-16l0-48 0-80c0-8.8 7.2-16 16-16zm32 80c13.3 0 24-10.7 24-24s-10.7-24-24-24l-16 0 0 48 16 0zm96-80l32 0c26.5 0 48 21.5 48 48l0 64c0 26.5-21.5 48-48 48l-32 0c-8.8 0-16-7.2-16-16l0-128c0-8.8 7.2-16 16-16zm32 128c8.8 0 16-7.2 16-16l0-64c0-8.8-7.2-16-16-16l-16 0 0 96 16 0zm80-112c0-8.8 7.2-16 16-16l48 0c8.8 0 16 7.2 16 16s-7.2 16-16 16l-32 0 0 32 32 0c8.8 0 16 7.2 16 16s-7.2 16-16 16l-32 0 0 48c0 8.8-7.2 16-16 16s-16-7.2-16-16l0-64 0-64z"]};var e3={prefix:"fas",iconName:"download",icon:[512,512,[],"f019","M288 32c0-17.7-14.3-32-32-32s-32 14.3-32 32l0 242.7-73.4-73.4c-12.5-12.5-32.8-12.5-45.3 0s-12.5 32.8 0 45.3l128 128c12.5 12.5 32.8 12.5 45.3 0l128-128c12.5-12.5 12.5-32.8 0-45.3s-32.8-12.5-45.3 0L288 274.7 288 32zM64 352c-35.3 0-64 28.7-64 64l0 32c0 35.3 28.7 64 64 64l384 0c35.3 0 64-28.7 64-64l0-32c0-35.3-28.7-64-64-64l-101.5 0-45.3 45.3c-25 25-65.5 25-90.5 0L165.5 352 64 352zm368 56a24 24 0 1 1 0 48 24 24 0 1 1 0-48z"]};var n3={prefix:"fas",iconName:"outdent",icon:[448,512,["dedent"],"f03b","M0 64C0 46.3 14.3 32 32 32l384 0c17.7 0 32 14.3 32 32s-14.3 32-32 32L32 96C14.3 96 0 81.7 0 64zM192 192c0-17.7 14.3-32 32-32l192 0c17.7 0 32 14.3 32 32s-14.3 32-32 32l-192 0c-17.7 0-32-14.3-32-32zm32 96l192 0c17.7 0 32 14.3 32 32s-14.3 32-32 32l-192 0c-17.7 0-32-14.3-32-32s14.3-32 32-32zM0 448c0-17.7 14.3-32 32-32l384 0c17.7 0 32 14.3 32 32s-14.3 32-32 32L32 480c-17.7 0-32-14.3-32-32zM.2 268.6c-8.2-6.4-8.2-18.9 0-25.3l101.9-79.3c10.5-8.2 25.8-.7 25.8 12.6l0 158.6c0 13.3-15.3 20.8-25.8 12.6L.2 268.6z"]};var o3={prefix:"fas",iconName:"sun",icon:[512,512,[9728],"f185","M361.5 1.2c5 2.1 8.6 6.6 9.6 11.9L391 121l107.9 19.8c5.3 1 9.8 4.6 11.9 9.6s1.5 10.7-1.6 15.2L446.9 256l62.3 90.3c3.1 4.5 3.7 10.2 1.6 15.2s-6.6 8.6-11.9 9.6L391 391 371.1 498.9c-1 5.3-4.6 9.8-9.6 11.9s-10.7 1.5-15.2-1.6L256 446.9l-90.3 62.3c-4.5 3.1-10.2 3.7-15.2 1.6s-8.6-6.6-9.6-11.9L121 391 13.1 371.1c-5.3-1-9.8-4.6-11.9-9.6s-1.5-10.7 1.6-15.2L65.1 256 2.8 165.7c-3.1-4.5-3.7-10.2-1.6-15.2s6.6-8.6 11.9-9.6L121 121 140.9 13.1c1-5.3 4.6-9.8 9.6-11.9s10.7-1.5 15.2 1.6L256 65.1 346.3 2.8c4.5-3.1 10.2-3.7 15.2-1.6zM160 256a96 96 0 1 1 192 0 96 96 0 1 1 -192 0zm224 0a128 128 0 1 0 -256 0 128 128 0 1 0 256 0z"]};var i3={prefix:"fas",iconName:"file",icon:[384,512,[128196,128459,61462],"f15b","M0 64C0 28.7 28.7 0 64 0L224 0l0 128c0 17.7 14.3 32 32 32l128 0 0 288c0 35.3-28.7 64-64 64L64 512c-35.3 0-64-28.7-64-64L0 64zm384 64l-128 0L256 0 384 128z"]};var f3={prefix:"fas",iconName:"link",icon:[640,512,[128279,"chain"],"f0c1","M579.8 267.7c56.5-56.5 56.5-148 0-204.5c-50-50-128.8-56.5-186.3-15.4l-1.6 1.1c-14.4 10.3-17.7 30.3-7.4 44.6s30.3 17.7 44.6 7.4l1.6-1.1c32.1-22.9 76-19.3 103.8 8.6c31.5 31.5 31.5 82.5 0 114L422.3 334.8c-31.5 31.5-82.5 31.5-114 0c-27.9-27.9-31.5-71.8-8.6-103.8l1.1-1.6c10.3-14.4 6.9-34.4-7.4-44.6s-34.4-6.9-44.6 7.4l-1.1 1.6C206.5 251.2 213 330 263 380c56.5 56.5 148 56.5 204.5 0L579.8 267.7zM60.2 244.3c-56.5 56.5-56.5 148 0 204.5c50 50 128.8 56.5 186.3 15.4l1.6-1.1c14.4-10.3 17.7-30.3 7.4-44.6s-30.3-17.7-44.6-7.4l-1.6 1.1c-32.1 22.9-76 19.3-103.8-8.6C74 372 74 321 105.5 289.5L217.7 177.2c31.5-31.5 82.5-31.5 114 0c27.9 27.9 31.5 71.8 8.6 103.9l-1.1 1.6c-10.3 14.4-6.9 34.4 7.4 44.6s34.4 6.9 44.6-7.4l1.1-1.6C433.5 260.8 427 182 377 132c-56.5-56.5-148-56.5-204.5 0L60.2 244.3z"]};var t3={prefix:"fas",iconName:"magnifying-glass",icon:[512,512,[128269,"search"],"f002","M416 208c0 45.9-14.9 88.3-40 122.7L502.6 457.4c12.5 12.5 12.5 32.8 0 45.3s-32.8 12.5-45.3 0L330.7 376c-34.4 25.2-76.8 40-122.7 40C93.1 416 0 322.9 0 208S93.1 0 208 0S416 93.1 416 208zM208 352a144 144 0 1 0 0-288 144 144 0 1 0 0 288z"]};var r3={prefix:"fas",iconName:"chevron-down",icon:[512,512,[],"f078","M233.4 406.6c12.5 12.5 32.8 12.5 45.3 0l192-192c12.5-12.5 12.5-32.8 0-45.3s-32.8-12.5-45.3 0L256 338.7 86.6 169.4c-12.5-12.5-32.8-12.5-45.3 0s-12.5 32.8 0 45.3l192 192z"]};var z3={prefix:"fas",iconName:"arrow-up",icon:[384,512,[8593],"f062","M214.6 41.4c-12.5-12.5-32.8-12.5-45.3 0l-160 160c-12.5 12.5-12.5 32.8 0 45.3s32.8 12.5 45.3 0L160 141.2 160 448c0 17.7 14.3 32 32 32s32-14.3 32-32l0-306.7L329.4 246.6c12.5 12.5 32.8 12.5 45.3 0s12.5-32.8 0-45.3l-160-160z"]};var m3={prefix:"fas",iconName:"circle-half-stroke",icon:[512,512,[9680,"adjust"],"f042","M448 256c0-106-86-192-192-192l0 384c106 0 192-86 192-192zM0 256a256 256 0 1 1 512 0A256 256 0 1 1 0 256z"]};var L3={prefix:"fas",iconName:"copy",icon:[448,512,[],"f0c5","M208 0L332.1 0c12.7 0 24.9 5.1 33.9 14.1l67.9 67.9c9 9 14.1 21.2 14.1 33.9L448 336c0 26.5-21.5 48-48 48l-192 0c-26.5 0-48-21.5-48-48l0-288c0-26.5 21.5-48 48-48zM48 128l80 0 0 64-64 0 0 256 192 0 0-32 64 0 0 48c0 26.5-21.5 48-48 48L48 512c-26.5 0-48-21.5-48-48L0 176c0-26.5 21.5-48 48-48z"]};var M3={prefix:"fas",iconName:"expand",icon:[448,512,[],"f065","M32 32C14.3 32 0 46.3 0 64l0 96c0 17.7 14.3 32 32 32s32-14.3 32-32l0-64 64 0c17.7 0 32-14.3 32-32s-14.3-32-32-32L32 32zM64 352c0-17.7-14.3-32-32-32s-32 14.3-32 32l0 96c0 17.7 14.3 32 32 32l96 0c17.7 0 32-14.3 32-32s-14.3-32-32-32l-64 0 0-64zM320 32c-17.7 0-32 14.3-32 32s14.3 32 32 32l64 0 0 64c0 17.7 14.3 32 32 32s32-14.3 32-32l0-96c0-17.7-14.3-32-32-32l-96 0zM448 352c0-17.7-14.3-32-32-32s-32 14.3-32 32l0 64-64 0c-17.7 0-32 14.3-32 32s14.3 32 32 32l96 0c17.7 0 32-14.3 32-32l0-96z"]};var C3={prefix:"fas",iconName:"xmark",icon:[384,512,[128473,10005,10006,10060,215,"close","multiply","remove","times"],"f00d","M342.6 150.6c12.5-12.5 12.5-32.8 0-45.3s-32.8-12.5-45.3 0L192 210.7 86.6 105.4c-12.5-12.5-32.8-12.5-45.3 0s-12.5 32.8 0 45.3L146.7 256 41.4 361.4c-12.5 12.5-12.5 32.8 0 45.3s32.8 12.5 45.3 0L192 301.3 297.4 406.6c12.5 12.5 32.8 12.5 45.3 0s12.5-32.8 0-45.3L237.3 256 342.6 150.6z"]};var p3={prefix:"fas",iconName:"rocket",icon:[512,512,[],"f135","M156.6 384.9L125.7 354c-8.5-8.5-11.5-20.8-7.7-32.2c3-8.9 7-20.5 11.8-33.8L24 288c-8.6 0-16.6-4.6-20.9-12.1s-4.2-16.7 .2-24.1l52.5-88.5c13-21.9 36.5-35.3 61.9-35.3l82.3 0c2.4-4 4.8-7.7 7.2-11.3C289.1-4.1 411.1-8.1 483.9 5.3c11.6 2.1 20.6 11.2 22.8 22.8c13.4 72.9 9.3 194.8-111.4 276.7c-3.5 2.4-7.3 4.8-11.3 7.2l0 82.3c0 25.4-13.4 49-35.3 61.9l-88.5 52.5c-7.4 4.4-16.6 4.5-24.1 .2s-12.1-12.2-12.1-20.9l0-107.2c-14.1 4.9-26.4 8.9-35.7 11.9c-11.2 3.6-23.4 .5-31.8-7.8zM384 168a40 40 0 1 0 0-80 40 40 0 1 0 0 80z"]};var h3={prefix:"fas",iconName:"chevron-left",icon:[320,512,[9001],"f053","M9.4 233.4c-12.5 12.5-12.5 32.8 0 45.3l192 192c12.5 12.5 32.8 12.5 45.3 0s12.5-32.8 0-45.3L77.3 256 246.6 86.6c12.5-12.5 12.5-32.8 0-45.3s-32.8-12.5-45.3 0l-192 192z"]};var u3={prefix:"fas",iconName:"chevron-right",icon:[320,512,[9002],"f054","M310.6 233.4c12.5 12.5 12.5 32.8 0 45.3l-192 192c-12.5 12.5-32.8 12.5-45.3 0s-12.5-32.8 0-45.3L242.7 256 73.4 86.6c-12.5-12.5-12.5-32.8 0-45.3s32.8-12.5 45.3 0l192 192z"]};var d3={prefix:"fas",iconName:"moon",icon:[384,512,[127769,9214],"f186","M223.5 32C100 32 0 132.3 0 256S100 480 223.5 480c60.6 0 115.5-24.2 155.8-63.4c5-4.9 6.3-12.5 3.1-18.7s-10.1-9.7-17-8.5c-9.8 1.7-19.8 2.6-30.1 2.6c-96.9 0-175.5-78.8-175.5-176c0-65.8 36-123.1 89.3-153.3c6.1-3.5 9.2-10.5 7.7-17.3s-7.3-11.9-14.3-12.5c-6.3-.5-12.6-.8-19-.8z"]};var x3={prefix:"fas",iconName:"book",icon:[448,512,[128212],"f02d","M96 0C43 0 0 43 0 96L0 416c0 53 43 96 96 96l288 0 32 0c17.7 0 32-14.3 32-32s-14.3-32-32-32l0-64c17.7 0 32-14.3 32-32l0-320c0-17.7-14.3-32-32-32L384 0 96 0zm0 384l256 0 0 64L96 448c-17.7 0-32-14.3-32-32s14.3-32 32-32zm32-240c0-8.8 7.2-16 16-16l192 0c8.8 0 16 7.2 16 16s-7.2 16-16 16l-192 0c-8.8 0-16-7.2-16-16zm16 48l192 0c8.8 0 16 7.2 16 16s-7.2 16-16 16l-192 0c-8.8 0-16-7.2-16-16s7.2-16 16-16z"]};var N3={prefix:"fas",iconName:"check",icon:[448,512,[10003,10004],"f00c","M438.6 105.4c12.5 12.5 12.5 32.8 0 45.3l-256 256c-12.5 12.5-32.8 12.5-45.3 0l-128-128c-12.5-12.5-12.5-32.8 0-45.3s32.8-12.5 45.3 0L160 338.7 393.4 105.4c12.5-12.5 32.8-12.5 45.3 0z"]};var b3={prefix:"fas",iconName:"angle-left",icon:[320,512,[8249],"f104","M41.4 233.4c-12.5 12.5-12.5 32.8 0 45.3l160 160c12.5 12.5 32.8 12.5 45.3 0s12.5-32.8 0-45.3L109.3 256 246.6 118.6c12.5-12.5 12.5-32.8 0-45.3s-32.8-12.5-45.3 0l-160 160z"]};var g3={prefix:"fas",iconName:"print",icon:[512,512,[128424,128438,9113],"f02f","M128 0C92.7 0 64 28.7 64 64l0 96 64 0 0-96 226.7 0L384 93.3l0 66.7 64 0 0-66.7c0-17-6.7-33.3-18.7-45.3L400 18.7C388 6.7 371.7 0 354.7 0L128 0zM384 352l0 32 0 64-256 0 0-64 0-16 0-16 256 0zm64 32l32 0c17.7 0 32-14.3 32-32l0-96c0-35.3-28.7-64-64-64L64 192c-35.3 0-64 28.7-64 64l0 96c0 17.7 14.3 32 32 32l32 0 0 64c0 35.3 28.7 64 64 64l256 0c35.3 0 64-28.7 64-64l0-64zM432 248a24 24 0 1 1 0 48 24 24 0 1 1 0-48z"]};/*!
 * Font Awesome Free 6.7.2 by @fontawesome - https://fontawesome.com
 * License - https://fontawesome.com/license/free (Icons: CC BY 4.0, Fonts: SIL OFL 1.1, Code: MIT License)
 * Copyright 2024 Fonticons, Inc.
 */var v3={prefix:"fab",iconName:"github",icon:[496,512,[],"f09b","M165.9 397.4c0 2-2.3 3.6-5.2 3.6-3.3.3-5.6-1.3-5.6-3.6 0-2 2.3-3.6 5.2-3.6 3-.3 5.6 1.3 5.6 3.6zm-31.1-4.5c-.7 2 1.3 4.3 4.3 4.9 2.6 1 5.6 0 6.2-2s-1.3-4.3-4.3-5.2c-2.6-.7-5.5.3-6.2 2.3zm44.2-1.7c-2.9.7-4.9 2.6-4.6 4.9.3 2 2.9 3.3 5.9 2.6 2.9-.7 4.9-2.6 4.6-4.6-.3-1.9-3-3.2-5.9-2.9zM244.8 8C106.1 8 0 113.3 0 252c0 110.9 69.8 205.8 169.5 239.2 12.8 2.3 17.3-5.6 17.3-12.1 0-6.2-.3-40.4-.3-61.4 0 0-70 15-84.7-29.8 0 0-11.4-29.1-27.8-36.6 0 0-22.9-15.7 1.6-15.4 0 0 24.9 2 38.6 25.8 21.9 38.6 58.6 27.5 72.9 20.9 2.3-16 8.8-27.1 16-33.7-55.9-6.2-112.3-14.3-112.3-110.5 0-27.5 7.6-41.3 23.6-58.9-2.6-6.5-11.1-33.3 2.6-67.9 20.9-6.5 69 27 69 27 20-5.6 41.5-8.5 62.8-8.5s42.8 2.9 62.8 8.5c0 0 48.1-33.6 69-27 13.7 34.7 5.2 61.4 2.6 67.9 16 17.7 25.8 31.5 25.8 58.9 0 96.5-58.9 104.2-114.8 110.5 9.2 7.9 17 22.9 17 46.4 0 33.7-.3 75.4-.3 83.6 0 6.5 4.6 14.4 17.3 12.1C428.2 457.8 496 362.9 496 252 496 113.3 383.5 8 244.8 8zM97.2 352.9c-1.3 1-1 3.3.7 5.2 1.6 1.6 3.9 2.3 5.2 1 1.3-1 1-3.3-.7-5.2-1.6-1.6-3.9-2.3-5.2-1zm-10.8-8.1c-.7 1.3.3 2.9 2.3 3.9 1.6 1 3.6.7 4.3-.7.7-1.3-.3-2.9-2.3-3.9-2-.6-3.6-.3-4.3.7zm32.4 35.6c-1.6 1.3-1 4.3 1.3 6.2 2.3 2.3 5.2 2.6 6.5 1 1.3-1.3.7-4.3-1.3-6.2-2.2-2.3-5.2-2.6-6.5-1zm-11.4-14.7c-1.6 1-1.6 3.6 0 5.9 1.6 2.3 4.3 3.3 5.6 2.3 1.6-1.3 1.6-3.9 0-6.2-1.4-2.3-4-3.3-5.6-2z"]};j2.autoAddCss=!0;Y2.add(b3,l3,z3,K2,m3,a3,e3,M3,i3,s3,Q2,$2,t3,d3,n3,p3,o3,C3,J2,L3,N3,r3,u3,h3,c3,f3,x3,g3,v3);X2.watch();})();
